#pragma once
// SwarmWorkloads: Workloads as Docker Swarm services (DESIGN section 6, "Beyond one machine";
// Environment.spec.runtime: swarm). A workload is the service cenv-<namespace>-<name> of
// WorkloadSpec::replicas tasks, labelled io.cenv.* (docker_names.h) with io.cenv.spec-hash; its
// task containers carry the owner's labels too (so Docker's container events bring the Service
// back when a task dies). It joins the Environment's attachable overlay network under its
// aliases, publishes its ports through the routing mesh (a port's hostIP is not used: the mesh
// listens on every address), mounts the named volumes cenv-<namespace>-<service>-<volume> (each
// node creates its own on first use) and is restarted and health-checked by the swarm
// (WorkloadSpec::supervision). The image is used as the node has it: the engine is not asked
// to resolve it against a registry, so local images run on a single-node swarm. The engine
// must be a swarm manager; otherwise every call is FailedPrecondition naming `docker swarm
// init`. Thread-safe.

#include <chrono>

#include "reconcilers/container_workloads.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/workloads.h"

namespace cenv {

class SwarmWorkloads final : public Workloads {
 public:
  // `docker` must outlive this.
  explicit SwarmWorkloads(DockerConnection& docker, WorkloadsOptions options = {});

  // Workload::replicas is set: desired and running tasks, their nodes and the newest task
  // error; `running` is true while the service exists, `state` "running" when every replica
  // runs, else "converging"; `endpoints` are the published ports as 0.0.0.0:port/protocol.
  Result<std::vector<Workload>> find(const WorkloadOwner& owner) override;
  Result<std::string> create(const WorkloadSpec& spec) override;
  // Ok: the swarm starts (and restarts) tasks itself.
  Status start(const std::string& id) override;
  Status scale(const std::string& id, uint64_t replicas) override;
  Status remove(const std::string& id) override;
  Status remove_volumes(const WorkloadOwner& owner,
                        const std::vector<std::string>& mounted) override;
  Status ensure_image(const std::string& image,
                      const std::optional<docker::RegistryAuth>& auth) override;
  // Runs `cmd` in the first running task's container (on this node).
  Result<int> exec(const std::string& id, const std::vector<std::string>& cmd,
                   std::chrono::milliseconds timeout) override;

  // The message of a call refused because the engine is not a swarm manager.
  static std::string not_a_manager_message(const std::string& engine_message);

 private:
  // `s` with a message naming `docker swarm init` when it says the engine is not a manager.
  static Status explain(Status s);

  DockerConnection& docker_;
  const WorkloadsOptions options_;
  // This node's containers: images, volumes and exec into a task's container.
  ContainerWorkloads local_;
};

}  // namespace cenv
