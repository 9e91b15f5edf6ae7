// DockerEventSource and DockerConnection against FakeDockerClient: events of cenv's
// containers reach their kind's route by label; a broken stream is subscribed again (and the
// routes resynced); a connection that failed is tried again later.

#include "reconcilers/docker_event_source.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "test/fakes/fake_docker_client.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::eventually;

struct Recorder {
  std::mutex mu;
  std::vector<Request> seen;
  int resyncs = 0;
  void add(const Request& r) {
    std::lock_guard lock(mu);
    seen.push_back(r);
  }
  bool saw(const Request& r) {
    std::lock_guard lock(mu);
    return std::find(seen.begin(), seen.end(), r) != seen.end();
  }
  int resync_count() {
    std::lock_guard lock(mu);
    return resyncs;
  }
};

docker::DockerEvent container_event(const std::string& action, docker::Labels labels) {
  docker::DockerEvent e;
  e.type = "container";
  e.action = action;
  e.id = "abc";
  e.attributes = std::move(labels);
  return e;
}

TEST_CASE("docker events: a managed container's event reaches its owner's route",
          "[reconcilers][events]") {
  docker::FakeDockerClient docker;
  DockerConnection connection(docker);
  DockerEventSource source(connection,
                           {std::chrono::milliseconds(5), std::chrono::milliseconds(20)});
  Recorder services, runs;
  source.route(
      "Service", [&](const Request& r) { services.add(r); },
      [&] {
        std::lock_guard lock(services.mu);
        ++services.resyncs;
      });
  source.route("CommandRun", [&](const Request& r) { runs.add(r); });
  std::jthread thread([&](std::stop_token stop) { source.start(stop); });
  REQUIRE(eventually([&] { return source.subscriptions() == 1; }));
  REQUIRE(eventually([&] { return services.resync_count() == 1; }));

  docker.push_event(container_event("die", DockerNames().labels("Service", "dev", "web", "u1")));
  docker.push_event(
      container_event("destroy", DockerNames().labels("CommandRun", "dev", "job", "u2")));
  // Not cenv's (no io.cenv.managed), and an exec (health checks): both ignored.
  docker.push_event(container_event(
      "die",
      {{"io.cenv.kind", "Service"}, {"io.cenv.namespace", "dev"}, {"io.cenv.name", "theirs"}}));
  docker.push_event(
      container_event("exec_start: sh", DockerNames().labels("Service", "dev", "probe", "u3")));
  docker.push_event(container_event("start", DockerNames().labels("Service", "dev", "last", "u4")));
  REQUIRE(eventually([&] { return services.saw({"Service", "dev", "last"}); }));
  CHECK(services.saw({"Service", "dev", "web"}));
  CHECK(runs.saw({"CommandRun", "dev", "job"}));
  CHECK_FALSE(services.saw({"Service", "dev", "theirs"}));
  CHECK_FALSE(services.saw({"Service", "dev", "probe"}));
}

TEST_CASE("docker events: a broken stream is subscribed again and the routes resynced",
          "[reconcilers][events]") {
  docker::FakeDockerClient docker;
  docker.fail_next("events", Status::Unavailable("docker is not running"), 3);
  DockerConnection connection(docker);
  DockerEventSource source(connection,
                           {std::chrono::milliseconds(5), std::chrono::milliseconds(20)});
  Recorder services;
  source.route(
      "Service", [&](const Request& r) { services.add(r); },
      [&] {
        std::lock_guard lock(services.mu);
        ++services.resyncs;
      });
  std::jthread thread([&](std::stop_token stop) { source.start(stop); });
  REQUIRE(eventually([&] { return source.subscriptions() == 1; }));
  CHECK(docker.call_count("events") == 4);  // three refused, then subscribed
  REQUIRE(eventually([&] { return services.resync_count() == 1; }));
  docker.push_event(container_event("die", DockerNames().labels("Service", "dev", "web", "u1")));
  REQUIRE(eventually([&] { return services.saw({"Service", "dev", "web"}); }));
}

TEST_CASE("docker connection: connects lazily and tries again after a failure",
          "[reconcilers][events]") {
  docker::FakeDockerClient docker;
  int attempts = 0;
  DockerConnection connection(
      [&]() -> Result<std::unique_ptr<docker::DockerClient>> {
        if (++attempts < 3) return Status::Unavailable("docker is not running at unix:///x");
        return std::unique_ptr<docker::DockerClient>(new docker::FakeDockerClient());
      },
      std::chrono::milliseconds(0));
  CHECK(attempts == 0);  // nothing until asked
  auto first = connection.client();
  REQUIRE_FALSE(first.ok());
  CHECK(first.status().code() == Code::kUnavailable);
  CHECK(first.status().message().find("unix:///x") != std::string::npos);
  CHECK_FALSE(connection.client().ok());
  auto third = connection.client();
  REQUIRE(third.ok());
  CHECK(connection.client().value() == third.value());  // kept once connected
  CHECK(attempts == 3);
}

TEST_CASE("docker connection: a failure is not retried before the retry interval",
          "[reconcilers][events]") {
  int attempts = 0;
  DockerConnection connection(
      [&]() -> Result<std::unique_ptr<docker::DockerClient>> {
        ++attempts;
        return Status::Unavailable("down");
      },
      std::chrono::hours(1));
  CHECK_FALSE(connection.client().ok());
  CHECK_FALSE(connection.client().ok());
  CHECK(attempts == 1);
}

}  // namespace
}  // namespace cenv
