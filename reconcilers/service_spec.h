#pragma once
// ServiceSpec: a Service's spec (crds/service.yaml) read into typed fields, and the
// WorkloadSpec it runs as once its Environment is known: image (spec.image or the
// Environment's status.image), the Environment's variables overridden by spec.env, secretEnv
// from the Environment's secrets, ports, volumes, network and alias, and the spec hash that
// says when a running container no longer matches. Pure functions; thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/environment_secrets.h"
#include "api/object.h"
#include "api/status.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/workloads.h"

namespace cenv {

struct HealthCheckSpec {
  std::vector<std::string> exec{};  // healthy when it exits 0 ...
  uint16_t tcp_port = 0;            // ... or when a TCP connection to this port succeeds
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds timeout{5'000};
  int retries = 3;
  std::chrono::milliseconds start_period{0};
  bool operator==(const HealthCheckSpec&) const = default;
};

enum class RestartPolicy { kAlways, kOnFailure, kNever };

struct ServiceSpec {
  std::string image;  // empty: the Environment's image
  std::optional<HealthCheckSpec> health_check;
  RestartPolicy restart_policy = RestartPolicy::kAlways;
  std::vector<std::string> depends_on;
  uint64_t replicas = 1;
};

// Reads the typed fields of `service` (already validated against its CRD, so only durations
// can still be bad). Invalid, naming the field, otherwise.
Result<ServiceSpec> parse_service_spec(const Object& service);

// The workload `service` runs as in `environment`, on `image`, with its spec_hash set; its
// env holds the plaintext of the secrets its secretEnv names, as `secrets` opens them.
// Invalid when a secretEnv names a secret the Environment does not have or that does not open.
Result<WorkloadSpec> service_workload(const Object& service, const Object& environment,
                                      const std::string& image, const DockerNames& names = {},
                                      const SecretOpener* secrets = nullptr);

// How a supervising runtime (swarm) restarts and health-checks `spec`'s workload: restartPolicy
// Always/OnFailure/Never as any/on-failure/none; an exec check as CMD, a tcp check as a bash
// connect to 127.0.0.1:port (CMD-SHELL; the image needs bash).
WorkloadSupervision workload_supervision(const ServiceSpec& spec);

// The Docker network of `environment`: spec.network, else names.network(its name) (for
// spec.runtime swarm, as swarm_name() makes it).
std::string environment_network(const Object& environment, const DockerNames& names);
// The Docker network `environment` has under spec.runtime swarm (`swarm`) or docker, whatever
// its spec.runtime says now: spec.network, else names.network(its name), as swarm_name() makes
// it for swarm. A switch of runtimes replaces the one by the other (environment_reconciler.h).
std::string runtime_network(const Object& environment, const DockerNames& names, bool swarm);

// `docker_name` as Docker Swarm accepts a service or overlay network name (a DNS name
// component: no '.'): a named instance's prefix "cenv.<instance>-" becomes "cenv_<instance>-",
// which no default-instance name can take ('_' is not allowed in namespaces). Swarm refuses
// names longer than 63 characters.
std::string swarm_name(std::string_view docker_name);

// Why a workload cannot join `environment`'s network yet: nullopt when the Environment's
// NetworkReady condition is True for its current spec (observedGeneration; a switch of
// runtimes replaces the network). Otherwise a message naming the network, the Environment and
// what its NetworkReady condition says (or that it has none yet); once the network has not
// been ready for longer than `slow_after` (since the condition's lastTransitionTime, else the
// Environment's creation, by `now`), the message also says since when.
std::optional<std::string> network_wait(const Object& environment, const DockerNames& names,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::milliseconds slow_after);

// "1m30s", "500ms", "2h" (the CRDs' duration pattern). Invalid otherwise.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// A stable hash (16 hex digits) of everything in `spec` that shapes the container, spec_hash
// excepted.
std::string workload_hash(const WorkloadSpec& spec);

}  // namespace cenv
