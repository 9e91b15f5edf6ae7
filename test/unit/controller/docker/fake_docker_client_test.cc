#include "test/fakes/fake_docker_client.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "test/fakes/fake_clock.h"

namespace cenv::docker {
namespace {

using namespace std::chrono_literals;

FakeDockerClient& with_base(FakeDockerClient& fake) {
  ImageInfo base;
  base.tags = {"cenv/base:bookworm"};
  base.labels = {{"org.image", "base"}};
  fake.add_image(base);
  return fake;
}

ContainerSpec web(std::string name = "cenv-dev-web") {
  ContainerSpec s;
  s.name = std::move(name);
  s.image = "cenv/base:bookworm";
  s.cmd = {"httpd"};
  s.labels = {{"io.cenv.managed", "true"}, {"io.cenv.kind", "Service"}};
  return s;
}

TEST_CASE("FakeDockerClient creates, starts, inspects and removes a container") {
  testing::FakeClock clock;
  FakeDockerClient fake(&clock);
  with_base(fake);
  auto id = fake.create_container(web());
  REQUIRE(id.ok());
  auto created = fake.inspect_container("cenv-dev-web");
  REQUIRE(created.ok());
  CHECK(created->id == *id);
  CHECK(created->state.status == "created");
  CHECK(created->labels.at("io.cenv.kind") == "Service");
  CHECK(created->labels.at("org.image") == "base");  // image labels are inherited
  CHECK(created->created == "2027-01-15T08:00:00Z");

  REQUIRE(fake.start_container(*id).ok());
  auto running = fake.inspect_container(id->substr(0, 12));  // by id prefix
  REQUIRE(running.ok());
  CHECK(running->state.running);
  CHECK(running->state.pid > 0);
  CHECK(fake.start_container(*id).ok());  // already running

  Status busy = fake.remove_container(*id);
  CHECK(busy.code() == Code::kConflict);
  REQUIRE(fake.remove_container(*id, {.force = true}).ok());
  CHECK(fake.inspect_container(*id).status().code() == Code::kNotFound);
}

TEST_CASE("FakeDockerClient answers like dockerd for the usual mistakes") {
  FakeDockerClient fake;
  with_base(fake);
  REQUIRE(fake.create_container(web()).ok());
  CHECK(fake.create_container(web()).status().code() == Code::kAlreadyExists);

  ContainerSpec missing = web("other");
  missing.image = "nope";
  auto no_image = fake.create_container(missing);
  CHECK(no_image.status().code() == Code::kNotFound);
  CHECK(no_image.status().message() == "No such image: nope:latest");

  ContainerSpec bad_net = web("third");
  bad_net.network = "cenv-missing";
  auto accepted = fake.create_container(bad_net);  // as dockerd 20.10: refused at start
  REQUIRE(accepted.ok());
  Status no_net = fake.start_container(*accepted);
  CHECK(no_net.code() == Code::kNotFound);
  CHECK(no_net.message() == "network cenv-missing not found");

  CHECK(fake.kill_container("cenv-dev-web").code() == Code::kConflict);
  CHECK(fake.stop_container("cenv-dev-web").ok());  // not running: Ok, as 304
  CHECK(fake.start_container("ghost").code() == Code::kNotFound);
  CHECK(fake.create_exec("cenv-dev-web", {.cmd = {"true"}}).status().code() == Code::kConflict);
}

TEST_CASE("FakeDockerClient scripted containers exit with output, wait returns the code") {
  FakeDockerClient fake;
  with_base(fake);
  fake.set_start_behavior([](const ContainerInfo& c) -> std::optional<FakeDockerClient::Exit> {
    if (c.labels.count("io.cenv.kind") && c.labels.at("io.cenv.kind") == "CommandRun") {
      return FakeDockerClient::Exit{3, "out\n", "err\n"};
    }
    return std::nullopt;
  });
  ContainerSpec cmd = web("cenv-dev-cmd");
  cmd.labels["io.cenv.kind"] = "CommandRun";
  auto id = fake.create_container(cmd);
  REQUIRE(id.ok());
  REQUIRE(fake.start_container(*id).ok());
  auto waited = fake.wait_container(*id);
  REQUIRE(waited.ok());
  CHECK(waited->exit_code == 3);
  std::string out, err;
  REQUIRE(fake.container_logs(*id, {},
                              [&](StreamKind k, std::string_view b) {
                                (k == StreamKind::kStderr ? err : out).append(b);
                                return true;
                              })
              .ok());
  CHECK(out == "out\n");
  CHECK(err == "err\n");
}

TEST_CASE("FakeDockerClient wait blocks until exit_container, and honours cancel and timeout") {
  FakeDockerClient fake;
  with_base(fake);
  auto id = fake.create_container(web());
  REQUIRE(id.ok());
  REQUIRE(fake.start_container(*id).ok());

  auto waiter = std::async(std::launch::async, [&] { return fake.wait_container(*id); });
  CHECK(waiter.wait_for(50ms) == std::future_status::timeout);
  REQUIRE(fake.exit_container(*id, 42, /*oom_killed=*/true).ok());
  auto waited = waiter.get();
  REQUIRE(waited.ok());
  CHECK(waited->exit_code == 42);
  auto info = fake.inspect_container(*id);
  REQUIRE(info.ok());
  CHECK(info->state.oom_killed);

  REQUIRE(fake.start_container(*id).ok());
  auto timed_out = fake.wait_container(*id, WaitCondition::kNotRunning, {}, 10ms);
  CHECK(timed_out.status().code() == Code::kUnavailable);
  std::stop_source stop;
  auto cancelled = std::async(std::launch::async, [&] {
    return fake.wait_container(*id, WaitCondition::kRemoved, stop.get_token());
  });
  stop.request_stop();
  CHECK(cancelled.get().status().code() == Code::kUnavailable);

  const size_t waits = fake.call_count("wait_container");
  auto removed = std::async(std::launch::async,
                            [&] { return fake.wait_container(*id, WaitCondition::kRemoved); });
  // The call is recorded under the lock it then waits on: once counted, it is waiting.
  while (fake.call_count("wait_container") == waits) std::this_thread::yield();
  REQUIRE(fake.remove_container(*id, {.force = true}).ok());
  CHECK(removed.get().ok());
}

TEST_CASE("FakeDockerClient fault injection fails the next calls of one method") {
  FakeDockerClient fake;
  with_base(fake);
  fake.fail_next("create_container", Status::Unavailable("docker is not running"), 2);
  CHECK(fake.create_container(web()).status().code() == Code::kUnavailable);
  CHECK(fake.create_container(web()).status().code() == Code::kUnavailable);
  CHECK(fake.create_container(web()).ok());
  CHECK(fake.call_count("create_container") == 3);
  CHECK(fake.calls().front() == "create_container");
}

TEST_CASE("FakeDockerClient lists containers by label and running state") {
  FakeDockerClient fake;
  with_base(fake);
  auto a = fake.create_container(web("a"));
  ContainerSpec other = web("b");
  other.labels = {{"io.cenv.kind", "CommandRun"}};
  auto b = fake.create_container(other);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(fake.start_container(*a).ok());
  auto running = fake.list_containers({.label_filters = {"io.cenv.managed=true"}});
  REQUIRE(running.ok());
  REQUIRE(running->size() == 1);
  CHECK(running->front().name == "a");
  auto all = fake.list_containers({.all = true, .label_filters = {"io.cenv.kind"}});
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
}

TEST_CASE("FakeDockerClient events: live, filtered, replayed with since, pushed by tests") {
  FakeDockerClient fake;
  with_base(fake);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<DockerEvent> seen;
  bool subscribed = false;
  std::stop_source stop;
  std::jthread watcher([&] {
    EventsOptions o;
    o.types = {"container"};
    o.label_filters = {"io.cenv.managed=true"};
    o.on_subscribed = [&] {
      std::lock_guard l(mu);
      subscribed = true;
      cv.notify_all();
    };
    CHECK(fake.events(
                  o,
                  [&](const DockerEvent& e) {
                    std::lock_guard l(mu);
                    seen.push_back(e);
                    cv.notify_all();
                    return true;
                  },
                  stop.get_token())
              .ok());
  });
  {
    std::unique_lock l(mu);
    REQUIRE(cv.wait_for(l, 5s, [&] { return subscribed; }));
  }
  auto id = fake.create_container(web());
  REQUIRE(id.ok());
  REQUIRE(fake.start_container(*id).ok());
  REQUIRE(fake.exit_container(*id, 1).ok());
  fake.push_event({"container", "oom", *id, {{"io.cenv.managed", "true"}}, 0});
  fake.push_event({"container", "start", "unmanaged", {}, 0});  // filtered out
  {
    std::unique_lock l(mu);
    REQUIRE(cv.wait_for(l, 5s, [&] { return seen.size() >= 4; }));
    std::vector<std::string> actions;
    for (const auto& e : seen) actions.push_back(e.action);
    CHECK(actions == std::vector<std::string>{"create", "start", "die", "oom"});
    CHECK(seen[2].attributes.at("exitCode") == "1");
    CHECK(seen[2].attributes.at("name") == "cenv-dev-web");
  }
  stop.request_stop();
  watcher.join();

  std::vector<std::string> replayed;
  EventsOptions replay;
  replay.since = std::chrono::system_clock::time_point{};
  replay.until = std::chrono::system_clock::now() + 1h;
  replay.actions = {"die"};
  int calls = 0;
  REQUIRE(fake.events(replay,
                      [&](const DockerEvent& e) {
                        replayed.push_back(e.action);
                        return ++calls < 1;
                      })
              .ok());
  CHECK(replayed == std::vector<std::string>{"die"});
}

TEST_CASE("FakeDockerClient networks, volumes and images behave like Docker's") {
  FakeDockerClient fake;
  with_base(fake);
  auto net = fake.create_network({.name = "cenv-dev", .labels = {{"io.cenv.managed", "true"}}});
  REQUIRE(net.ok());
  CHECK(fake.create_network({.name = "cenv-dev"}).status().code() == Code::kAlreadyExists);
  ContainerSpec s = web();
  s.network = "cenv-dev";
  s.network_aliases = {"web"};
  s.mounts = {{Mount::Type::kVolume, "cenv-dev-web-data", "/data", false}};
  auto id = fake.create_container(s);
  REQUIRE(id.ok());
  REQUIRE(fake.start_container(*id).ok());
  auto info = fake.inspect_container(*id);
  REQUIRE(info.ok());
  CHECK_FALSE(info->networks.at("cenv-dev").ip_address.empty());
  CHECK(info->networks.at("cenv-dev").aliases == std::vector<std::string>{"web"});
  CHECK(fake.remove_network("cenv-dev").code() == Code::kForbidden);
  CHECK(fake.inspect_volume("cenv-dev-web-data").ok());  // created on first use
  CHECK(fake.remove_volume("cenv-dev-web-data").code() == Code::kConflict);
  CHECK(fake.remove_image("cenv/base:bookworm").code() == Code::kConflict);
  REQUIRE(fake.remove_container(*id, {.force = true}).ok());
  CHECK(fake.remove_network("cenv-dev").ok());
  CHECK(fake.remove_volume("cenv-dev-web-data").ok());
  CHECK(fake.list_networks({"io.cenv.managed=true"})->empty());

  auto again = fake.create_volume({.name = "v", .labels = {{"a", "1"}}});
  REQUIRE(again.ok());
  auto same = fake.create_volume({.name = "v"});
  REQUIRE(same.ok());
  CHECK(same->labels.at("a") == "1");  // existing volume returned

  auto built = fake.build_image({.context_tar = "tar",
                                 .tags = {"cenv/env-dev:abc"},
                                 .labels = {{"io.cenv.kind", "Environment"}}});
  REQUIRE(built.ok());
  auto image = fake.inspect_image("cenv/env-dev:abc");
  REQUIRE(image.ok());
  CHECK(image->id == *built);
  CHECK(fake.list_images({.label_filters = {"io.cenv.kind=Environment"}})->size() == 1);
  REQUIRE(fake.tag_image(*built, "cenv/env-dev", "latest").ok());
  CHECK(fake.inspect_image("cenv/env-dev").ok());

  CHECK(fake.pull_image("postgres:15").code() == Code::kNotFound);
  fake.add_pullable_image("postgres:15", ImageInfo{});
  REQUIRE(fake.pull_image("postgres:15").ok());
  CHECK(fake.inspect_image("postgres:15").ok());
  fake.set_registry_reachable(false);
  CHECK(fake.pull_image("postgres:16").code() == Code::kUnavailable);
}

TEST_CASE("FakeDockerClient checks registry credentials on pull and push") {
  FakeDockerClient fake;
  const RegistryAuth alice{"alice", "pw", "reg.test:5000"};
  fake.require_registry_credentials("reg.test:5000", alice);
  fake.add_pullable_image("reg.test:5000/team/base:1", ImageInfo{});
  Status none = fake.pull_image("reg.test:5000/team/base:1");
  CHECK(none.code() == Code::kUnauthenticated);
  CHECK_THAT(none.message(), Catch::Contains("no basic auth credentials"));
  Status wrong = fake.pull_image("reg.test:5000/team/base:1", RegistryAuth{"alice", "x", ""});
  CHECK(wrong.code() == Code::kUnauthenticated);
  CHECK_THAT(wrong.message(), Catch::Contains("unauthorized: authentication required"));
  REQUIRE(fake.pull_image("reg.test:5000/team/base:1", alice).ok());
  CHECK(fake.inspect_image("reg.test:5000/team/base:1").ok());

  // Push: the local name must exist; credentials as for pulls; then it is pullable.
  CHECK(fake.push_image("reg.test:5000/app:1", alice).code() == Code::kNotFound);
  REQUIRE(fake.tag_image("reg.test:5000/team/base:1", "reg.test:5000/app", "1").ok());
  CHECK(fake.push_image("reg.test:5000/app:1", std::nullopt).code() == Code::kUnauthenticated);
  CHECK(fake.pushed_images().empty());
  REQUIRE(fake.push_image("reg.test:5000/app:1", alice).ok());
  CHECK(fake.pushed_images() == std::vector<std::string>{"reg.test:5000/app:1"});
  // Another registry wants nothing.
  fake.add_pullable_image("debian:12", ImageInfo{});
  CHECK(fake.pull_image("debian:12").ok());
}

TEST_CASE("FakeDockerClient exec runs the scripted behaviour with its stdin") {
  FakeDockerClient fake;
  with_base(fake);
  fake.set_exec_behavior([](const ContainerInfo&, const ExecSpec& spec, const std::string& in) {
    return FakeDockerClient::Exit{spec.cmd.front() == "false" ? 1 : 0, "got:" + in, ""};
  });
  auto id = fake.create_container(web());
  REQUIRE(id.ok());
  REQUIRE(fake.start_container(*id).ok());
  auto exec = fake.create_exec(*id, {.cmd = {"cat"}, .attach_stdin = true});
  REQUIRE(exec.ok());
  ExecStartOptions o;
  o.stdin_pipe = std::make_shared<StdinPipe>();
  std::thread writer([pipe = o.stdin_pipe] {
    pipe->write("abc");
    pipe->close();
  });
  std::string out;
  REQUIRE(fake.start_exec(*exec, o,
                          [&](StreamKind, std::string_view b) {
                            out.append(b);
                            return true;
                          })
              .ok());
  writer.join();
  CHECK(out == "got:abc");
  CHECK(fake.inspect_exec(*exec)->exit_code == 0);
  auto failing = fake.create_exec(*id, {.cmd = {"false"}});
  REQUIRE(failing.ok());
  REQUIRE(fake.start_exec(*failing, {}, [](StreamKind, std::string_view) { return true; }).ok());
  CHECK(fake.inspect_exec(*failing)->exit_code == 1);
}

TEST_CASE("FakeDockerClient attach delivers output as it comes and records stdin") {
  FakeDockerClient fake;
  with_base(fake);
  ContainerSpec s = web();
  s.open_stdin = true;
  auto id = fake.create_container(s);
  REQUIRE(id.ok());
  AttachOptions a;
  a.stdin_pipe = std::make_shared<StdinPipe>();
  a.on_attached = [&] {
    REQUIRE(fake.start_container(*id).ok());
    a.stdin_pipe->write("typed");
    REQUIRE(fake.append_output(*id, StreamKind::kStdout, "hello").ok());
    REQUIRE(fake.exit_container(*id, 0).ok());
  };
  std::string out;
  REQUIRE(fake.attach_container(*id, a,
                                [&](StreamKind, std::string_view b) {
                                  out.append(b);
                                  return true;
                                })
              .ok());
  CHECK(out == "hello");
  CHECK(fake.stdin_of(*id).value() == "typed");
}

}  // namespace
}  // namespace cenv::docker
