// wait_for_object (shared by `cenv wait` and `cenv apply --wait`) against a real API server
// over the unix socket: progress as the object changes, the condition met, the deadline.

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <thread>

#include "api/conditions.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/context.h"
#include "cli/wait_cmd.h"
#include "controller/server/grpc_server.h"
#include "controller/store/sqlite_store.h"

namespace cenv::cli {
namespace {

struct Server {
  Server() {
    home.root = std::filesystem::temp_directory_path() /
                ("cenv-wait-test-" + std::to_string(std::random_device{}()));
    REQUIRE(home.ensure().ok());
    auto opened = SqliteStore::open(home.database().string(), clock);
    REQUIRE(opened.ok());
    store = std::move(opened.value());
    api = std::make_unique<ApiService>(*store, KindRegistry::builtin().value(), clock);
    REQUIRE(api->ensure_default_namespace().ok());
    hub = std::make_unique<WatchHub>(*store);
    api->set_on_commit([this] { hub->notify(); });
    GrpcServerOptions options;
    options.unix_socket = home.socket().string();
    auto started = GrpcServer::start(*api, *hub, options);
    REQUIRE(started.ok());
    server = std::move(started.value());
    ClientOptions client_options;
    client_options.autostart = false;
    client = Context::local(home).connect(client_options);
  }
  ~Server() {
    client.reset();
    server->shutdown();
    server->wait();
    server.reset();
    hub.reset();
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(home.root, ec);
  }

  Object apply_service(const std::string& name) {
    Object o;
    o.json()["apiVersion"] = kApiVersion;
    o.json()["kind"] = "Service";
    o.set_name(name);
    o.set_ns("default");
    o.spec()["image"] = "nginx:1";
    auto done = api->apply({{o, "test"}}, ApplyOptions{});
    REQUIRE(done.ok());
    return done.value().front().object;
  }

  void set_ready(const std::string& name, const char* status, const char* reason) {
    auto current = api->get("Service", "default", name);
    REQUIRE(current.ok());
    Object o = current.value();
    set_condition(o, "Ready", status, reason, std::string("as the test says: ") + reason,
                  o.generation(), clock.now());
    REQUIRE(api->update_status(o).ok());
  }

  SystemClock clock;
  Home home;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<ControllerClient> client;
};

const WaitCondition& ready() {
  static const WaitCondition c = WaitCondition::parse("condition=Ready").value();
  return c;
}

TEST_CASE("wait_for_object reports each new state and returns once Ready", "[wait]") {
  Server s;
  s.apply_service("web");
  s.set_ready("web", "False", "Pulling");
  std::vector<std::string> progress;
  std::mutex mu;
  auto seen = [&](const std::string& text) {
    std::lock_guard lock(mu);
    return std::find(progress.begin(), progress.end(), text) != progress.end();
  };
  std::thread writer([&] {
    // Each step after the waiter has reported the previous one, so that none is coalesced.
    while (!seen("Ready=False (Pulling: as the test says: Pulling)")) std::this_thread::yield();
    s.set_ready("web", "False", "Starting");
    while (!seen("Ready=False (Starting: as the test says: Starting)")) {
      std::this_thread::yield();
    }
    s.set_ready("web", "True", "Healthy");
  });
  auto outcome =
      wait_for_object(*s.client, "Service", "default", "web", {ready()},
                      std::chrono::system_clock::time_point::max(), [&](const std::string& state) {
                        std::lock_guard lock(mu);
                        progress.push_back(state);
                      });
  writer.join();
  REQUIRE(outcome.ok());
  CHECK(outcome->met);
  CHECK(outcome->met_index == 0);
  CHECK(progress == std::vector<std::string>{"Ready=False (Pulling: as the test says: Pulling)",
                                             "Ready=False (Starting: as the test says: Starting)"});
}

TEST_CASE("wait_for_object meets the second of several conditions", "[wait]") {
  Server s;
  s.apply_service("job");
  s.set_ready("job", "False", "Crashed");
  auto failed = WaitCondition::parse("condition=Ready=False").value();
  auto outcome = wait_for_object(*s.client, "Service", "default", "job", {ready(), failed},
                                 std::chrono::system_clock::time_point::max(), nullptr);
  REQUIRE(outcome.ok());
  CHECK(outcome->met);
  CHECK(outcome->met_index == 1);
}

TEST_CASE("wait_for_object stops at the deadline with the state it last saw", "[wait]") {
  Server s;
  s.apply_service("slow");
  s.set_ready("slow", "False", "Starting");
  auto outcome =
      wait_for_object(*s.client, "Service", "default", "slow", {ready()},
                      std::chrono::system_clock::now() + std::chrono::milliseconds(200), nullptr);
  REQUIRE(outcome.ok());
  CHECK_FALSE(outcome->met);
  CHECK(outcome->state == "Ready=False (Starting: as the test says: Starting)");
}

TEST_CASE("wait_for_object: a missing object is NotFound unless deletion is awaited", "[wait]") {
  Server s;
  auto missing = wait_for_object(*s.client, "Service", "default", "ghost", {ready()},
                                 std::chrono::system_clock::time_point::max(), nullptr);
  CHECK(missing.status().code() == Code::kNotFound);
  auto gone = wait_for_object(*s.client, "Service", "default", "ghost",
                              {WaitCondition::parse("delete").value()},
                              std::chrono::system_clock::time_point::max(), nullptr);
  REQUIRE(gone.ok());
  CHECK(gone->met);
}

}  // namespace
}  // namespace cenv::cli
