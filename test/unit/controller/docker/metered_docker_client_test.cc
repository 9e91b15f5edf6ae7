// MeteredDockerClient over the FakeDockerClient: every call passes through and is counted by
// operation and result code, with its duration.

#include "controller/docker/metered_docker_client.h"

#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "test/fakes/fake_docker_client.h"
#include "test/metrics_sample.h"

namespace cenv::docker {
namespace {

using testing::sample_value;

ContainerSpec web() {
  ContainerSpec s;
  s.name = "cenv-dev-web";
  s.image = "cenv/base:bookworm";
  s.cmd = {"httpd"};
  return s;
}

TEST_CASE("metered docker client: counts each call by operation and code with its duration",
          "[docker][metrics]") {
  metrics::Registry registry;
  auto owned = std::make_unique<FakeDockerClient>();
  FakeDockerClient& fake = *owned;
  ImageInfo base;
  base.tags = {"cenv/base:bookworm"};
  fake.add_image(base);
  MeteredDockerClient docker(std::move(owned), registry);
  DockerClient& client = docker;  // used as the reconcilers use it

  auto id = client.create_container(web());
  REQUIRE(id.ok());
  CHECK(client.create_container(web()).status().code() == Code::kAlreadyExists);
  CHECK(client.inspect_container("cenv-dev-missing").status().code() == Code::kNotFound);
  REQUIRE(client.start_container(id.value()).ok());
  // The call reached the wrapped client.
  auto info = fake.inspect_container(id.value());
  REQUIRE(info.ok());
  CHECK(info->state.running);
  fake.fail_next("ping", Status::Unavailable("docker is not running"));
  CHECK_FALSE(client.ping().ok());
  CHECK(client.ping().ok());

  auto calls = [&](const std::string& op, const std::string& code) {
    return sample_value(registry, "cenv_docker_requests_total", {op, code}).value_or(0);
  };
  CHECK(calls("create_container", "ok") == 1);
  CHECK(calls("create_container", "already exists") == 1);
  CHECK(calls("inspect_container", "not found") == 1);
  CHECK(calls("start_container", "ok") == 1);
  CHECK(calls("ping", "unavailable") == 1);
  CHECK(calls("ping", "ok") == 1);
  CHECK(sample_value(registry, "cenv_docker_request_duration_seconds", {"create_container"}) == 2);
  CHECK(sample_value(registry, "cenv_docker_request_duration_seconds", {"ping"}) == 2);
  // Calls made on the fake directly are not counted.
  CHECK(calls("inspect_container", "ok") == 0);
}

TEST_CASE("metered docker client: a streaming call is counted when its stream ends",
          "[docker][metrics]") {
  metrics::Registry registry;
  MeteredDockerClient docker(std::make_unique<FakeDockerClient>(), registry);
  std::stop_source stop;
  std::thread events([&] {
    EventsOptions options;
    options.on_subscribed = [&] { stop.request_stop(); };
    (void)docker.events(
        options, [](const DockerEvent&) { return true; }, stop.get_token());
  });
  events.join();
  CHECK(sample_value(registry, "cenv_docker_requests_total", {"events", "ok"}) == 1);
  CHECK(sample_value(registry, "cenv_docker_request_duration_seconds", {"events"}) == 1);
}

}  // namespace
}  // namespace cenv::docker
