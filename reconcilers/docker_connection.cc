#include "reconcilers/docker_connection.h"

#include <spdlog/spdlog.h>

#include "controller/docker/engine_docker_client.h"
#include "controller/docker/metered_docker_client.h"

namespace cenv {

DockerConnection::DockerConnection(Connect connect, std::chrono::milliseconds retry_interval)
    : connect_(std::move(connect)), retry_interval_(retry_interval) {}

DockerConnection::DockerConnection(docker::DockerClient& client)
    : retry_interval_(0), client_(&client) {}

std::unique_ptr<DockerConnection> DockerConnection::from_environment(metrics::Registry* metrics) {
  return std::make_unique<DockerConnection>(
      [metrics]() -> Result<std::unique_ptr<docker::DockerClient>> {
        auto c = docker::EngineDockerClient::connect(docker::EngineOptions::from_environment());
        if (!c.ok()) return c.status();
        spdlog::info("connected to docker at {} (API {})", c.value()->endpoint(),
                     c.value()->api_version());
        std::unique_ptr<docker::DockerClient> client = std::move(c.value());
        if (metrics == nullptr) return client;
        return std::unique_ptr<docker::DockerClient>(
            std::make_unique<docker::MeteredDockerClient>(std::move(client), *metrics));
      });
}

Result<docker::DockerClient*> DockerConnection::client() {
  std::lock_guard lock(mu_);
  if (client_ != nullptr) return client_;
  auto now = std::chrono::steady_clock::now();
  if (!last_error_.ok() && now - last_try_ < retry_interval_) return last_error_;
  last_try_ = now;
  auto connected = connect_();
  if (!connected.ok()) {
    if (last_error_.message() != connected.status().message()) {
      spdlog::warn("docker: {}", connected.status().message());
    }
    last_error_ = Status(Code::kUnavailable, connected.status().message());
    return last_error_;
  }
  owned_ = std::move(connected.value());
  client_ = owned_.get();
  last_error_ = Status::Ok();
  return client_;
}

}  // namespace cenv
