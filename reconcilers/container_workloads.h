#pragma once
// ContainerWorkloads: Workloads as plain Docker containers on one host (DESIGN section 6).
// A workload is the container cenv-<namespace>-<name>, labelled io.cenv.* (docker_names.h)
// with io.cenv.spec-hash, run with an init process (so a shell or busybox as PID 1 still
// stops on SIGTERM), joined to its network under its aliases; its volumes are the named
// volumes cenv-<namespace>-<service>-<volume>, which outlive it. Thread-safe.

#include <chrono>

#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/workloads.h"

namespace cenv {

class ContainerWorkloads final : public Workloads {
 public:
  // `docker` must outlive this.
  explicit ContainerWorkloads(DockerConnection& docker, WorkloadsOptions options = {});

  Result<std::vector<Workload>> find(const WorkloadOwner& owner) override;
  Result<std::string> create(const WorkloadSpec& spec) override;
  Status start(const std::string& id) override;
  Status scale(const std::string& id, uint64_t replicas) override;
  Status remove(const std::string& id) override;
  Status remove_volumes(const WorkloadOwner& owner,
                        const std::vector<std::string>& mounted) override;
  Status ensure_image(const std::string& image,
                      const std::optional<docker::RegistryAuth>& auth) override;
  Result<int> exec(const std::string& id, const std::vector<std::string>& cmd,
                   std::chrono::milliseconds timeout) override;

 private:
  DockerConnection& docker_;
  const WorkloadsOptions options_;
};

}  // namespace cenv
