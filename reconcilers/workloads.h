#pragma once
// Workloads: the seam the Service reconciler runs its containers through (DESIGN section 6,
// "Beyond one machine"). ContainerWorkloads runs plain Docker containers on one host (one
// container per workload; cenv restarts and health-checks it); SwarmWorkloads runs Docker Swarm
// services (one service of `replicas` tasks per workload; the swarm restarts them). A workload is
// found by its owner's labels, never by name alone, so whatever carries no cenv labels is never
// touched. Implementations are thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "reconcilers/docker_names.h"

namespace cenv {

// How a Workloads implementation names and stops what it runs (ContainerWorkloads,
// SwarmWorkloads).
struct WorkloadsOptions {
  // Grace period between SIGTERM and SIGKILL when a workload (a container, a swarm task)
  // stops. Default 10 s.
  int stop_timeout_seconds = 10;
  // Names and labels of containers, services and volumes (the default instance, no extra
  // labels).
  DockerNames names{};
};

// The API object a workload belongs to.
struct WorkloadOwner {
  std::string kind;  // "Service"
  std::string ns;
  std::string name;
  std::string uid;
};

struct WorkloadPort {
  uint16_t container_port = 0;
  std::optional<uint16_t> host_port{};  // empty: not published; 0: any free host port
  std::string host_ip{};                // empty: every address
  std::string protocol = "tcp";         // tcp or udp
};

struct WorkloadVolume {
  std::string name{};        // the Service's volume name (spec.volumes[].name)
  std::string mount_path{};  // absolute path in the container
};

// How a runtime that supervises its workloads itself (swarm) restarts and health-checks them.
struct WorkloadSupervision {
  std::string restart_condition = "any";   // any, on-failure, none
  std::vector<std::string> health_test{};  // empty: none; else "CMD", ... or "CMD-SHELL", cmd
  std::chrono::milliseconds health_interval{0};
  std::chrono::milliseconds health_timeout{0};
  std::chrono::milliseconds health_start_period{0};
  int health_retries = 0;
};

// Everything a workload is made from. `spec_hash` identifies it: a workload whose hash differs
// from the desired one is replaced.
struct WorkloadSpec {
  WorkloadOwner owner{};
  std::string image{};
  std::vector<std::string> command{};  // empty: the image's entrypoint
  std::vector<std::string> args{};     // empty: the image's command
  std::vector<std::string> env{};      // "KEY=VALUE"
  std::vector<WorkloadPort> ports{};
  std::vector<WorkloadVolume> volumes{};
  std::string network{};  // joined with `aliases` as DNS names
  std::vector<std::string> aliases{};
  // Copies to run (not in spec_hash: a change scales the workload). Only a replicated runtime
  // (swarm) runs other than 1.
  uint64_t replicas = 1;
  // Set for a runtime that supervises its workloads (swarm); in spec_hash when set.
  std::optional<WorkloadSupervision> supervision{};
  std::string spec_hash{};
};

// The copies of a replicated workload (swarm).
struct WorkloadReplicas {
  uint64_t desired = 0;
  uint64_t ready = 0;              // tasks running
  std::vector<std::string> nodes;  // hostnames of the nodes running them, sorted, unique
  std::string problem;             // the newest error of a task that is not running, if any
};

// What a workload is doing now.
struct Workload {
  std::string id;
  std::string uid;        // of the owner it was created for
  std::string spec_hash;  // of the spec it was created from
  std::string state;      // created, running, restarting, paused, exited, dead, removing
  bool running = false;
  int exit_code = 0;
  std::string error;                   // the runtime's error starting it, if any
  std::string created;                 // RFC 3339
  std::string started_at;              // RFC 3339; "0001-01-01T00:00:00Z" when never started
  std::string finished_at;             // RFC 3339; likewise when it never exited
  std::string address;                 // IPv4 on its network while running, else empty
  std::vector<std::string> endpoints;  // published ports, "host:port/protocol"
  // Set by a replicated runtime (swarm), which restarts its tasks itself: the workload is then
  // `running` while it exists.
  std::optional<WorkloadReplicas> replicas;
};

class Workloads {
 public:
  virtual ~Workloads() = default;

  // The workloads labelled as `owner`'s (kind, namespace, name; any uid), oldest first.
  // Unavailable when the runtime cannot be reached.
  virtual Result<std::vector<Workload>> find(const WorkloadOwner& owner) = 0;
  // Creates the workload (and its volumes) and starts it; returns its id. NotFound when the
  // image is missing, AlreadyExists when its name is taken by something else; when the start
  // fails the workload is left created (find() reports it) and the start's error returned.
  virtual Result<std::string> create(const WorkloadSpec& spec) = 0;
  // Starts a created or exited workload. Ok when already running.
  virtual Status start(const std::string& id) = 0;
  // Sets the copies of a replicated workload. FailedPrecondition from a runtime that runs
  // exactly one copy (containers).
  virtual Status scale(const std::string& id, uint64_t replicas) = 0;
  // Stops and removes the workload (never its named volumes). Ok when already gone.
  virtual Status remove(const std::string& id) = 0;
  // Removes the named volumes labelled as `owner`'s (kind, namespace and name) that carry
  // its uid or are among `mounted` (the Docker names of the volumes its spec mounts: a
  // Service deleted and applied again mounts the volume an earlier one of its name created).
  virtual Status remove_volumes(const WorkloadOwner& owner,
                                const std::vector<std::string>& mounted) = 0;
  // Makes `image` present: Ok when it is, else pulls it (with `auth` when set). NotFound (the
  // registry has no such image), Unauthenticated (the registry refused the pull without, or
  // with these, credentials) or FailedPrecondition (no registry answered) with the runtime's
  // message when it cannot; Unavailable only when the runtime itself cannot be reached.
  virtual Status ensure_image(const std::string& image,
                              const std::optional<docker::RegistryAuth>& auth) = 0;
  // Runs `cmd` in the running workload and returns its exit code. Unavailable when it did not
  // finish within `timeout` (it is then left to finish on its own).
  virtual Result<int> exec(const std::string& id, const std::vector<std::string>& cmd,
                           std::chrono::milliseconds timeout) = 0;
};

}  // namespace cenv
