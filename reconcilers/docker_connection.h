#pragma once
// DockerConnection: the Docker client of the reconcilers, connected lazily, so the controller
// starts and serves the API while dockerd is down (DESIGN section 6). client() connects on first
// use and, after a failure, again at most once per retry_interval; once connected, the client is
// kept for the life of the connection: a restarted dockerd is reached again by the client's next
// call (EngineDockerClient opens new connections as needed). Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "api/metrics_registry.h"
#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv {

class DockerConnection {
 public:
  using Connect = std::function<Result<std::unique_ptr<docker::DockerClient>>()>;

  // Connects with `connect` when a client is first needed. `retry_interval` (default 1 s)
  // bounds how often a failing connect is tried again; between tries client() returns the
  // last failure.
  explicit DockerConnection(Connect connect,
                            std::chrono::milliseconds retry_interval = std::chrono::seconds(1));
  // Always connected to `client` (not owned; must outlive this), for tests.
  explicit DockerConnection(docker::DockerClient& client);
  // Connects to the daemon EngineOptions::from_environment() names (DOCKER_HOST, ...); with
  // `metrics` (must outlive the connection), its calls are counted there (MeteredDockerClient).
  static std::unique_ptr<DockerConnection> from_environment(metrics::Registry* metrics = nullptr);

  // The connected client (valid for the connection's life), or why there is none
  // (Unavailable: "docker is not running at ...").
  Result<docker::DockerClient*> client();

 private:
  const Connect connect_;
  const std::chrono::milliseconds retry_interval_;
  std::mutex mu_;
  docker::DockerClient* client_ = nullptr;            // guarded by mu_
  std::unique_ptr<docker::DockerClient> owned_;       // guarded by mu_
  Status last_error_;                                 // guarded by mu_
  std::chrono::steady_clock::time_point last_try_{};  // guarded by mu_
};

}  // namespace cenv
