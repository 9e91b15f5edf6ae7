#pragma once
// Docker Swarm values of the Engine API (/info's Swarm, /services, /tasks, /nodes) that
// DockerClient reads and writes. Plain values.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cenv::docker {

// What /info says of this engine's part in a swarm.
struct SwarmState {
  std::string local_node_state;    // inactive, pending, active, error, locked
  bool control_available = false;  // this node is a manager
  std::string node_id;
  std::string error;  // the engine's error joining or running the swarm, if any
  // True when services can be created through this engine.
  bool manager() const { return local_node_state == "active" && control_available; }
};

// A port published through the routing mesh (ingress).
struct SwarmPort {
  uint16_t target_port = 0;
  std::optional<uint16_t> published_port{};  // empty: the swarm picks one (30000+)
  std::string protocol = "tcp";              // tcp or udp
  bool operator==(const SwarmPort&) const = default;
};

// A named volume mounted into every task.
struct SwarmMount {
  std::string source{};  // volume name, created on each node on first use
  std::string target{};  // absolute path in the container
  std::map<std::string, std::string> volume_labels{};  // on the volume the node creates
};

// A container health check run by the engine (a task counts as running once healthy).
struct SwarmHealthCheck {
  std::vector<std::string> test{};  // "CMD", args... or "CMD-SHELL", command
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int retries = 0;
};

// POST /services/create. The image must be on the node already or pullable by it: the engine
// is not asked to resolve it against a registry.
struct SwarmServiceSpec {
  std::string name{};
  std::map<std::string, std::string> labels{};            // on the service
  std::map<std::string, std::string> container_labels{};  // on each task's container
  std::string image{};
  std::vector<std::string> command{};  // empty: the image's entrypoint
  std::vector<std::string> args{};     // empty: the image's command
  std::vector<std::string> env{};      // "KEY=VALUE"
  std::string working_dir{};           // empty: the image's
  std::string hostname{};
  bool init = true;
  std::optional<SwarmHealthCheck> health_check{};
  int64_t stop_grace_period_ns = 10'000'000'000;
  std::vector<SwarmMount> mounts{};
  uint64_t replicas = 1;
  std::string restart_condition = "any";  // any, on-failure, none
  int64_t restart_delay_ns = 1'000'000'000;
  std::string network{};  // joined under `aliases`
  std::vector<std::string> aliases{};
  std::vector<SwarmPort> ports{};
};

// GET /services/{id}.
struct SwarmServiceInfo {
  std::string id;
  std::string name;
  uint64_t version = 0;
  std::string created;  // RFC 3339
  std::map<std::string, std::string> labels;
  uint64_t replicas = 0;                   // desired
  std::vector<SwarmPort> published_ports;  // with the published port the swarm chose
};

// GET /tasks.
struct SwarmTask {
  std::string id;
  std::string service_id;
  std::string node_id;
  int slot = 0;
  std::string state;          // new, pending, ..., starting, running, complete, failed, ...
  std::string desired_state;  // running, shutdown, ...
  std::string message;
  std::string error;
  std::string container_id;
  std::optional<int> exit_code;
  std::string timestamp;  // of the state, RFC 3339
};

// GET /nodes.
struct SwarmNode {
  std::string id;
  std::string hostname;
};

}  // namespace cenv::docker
