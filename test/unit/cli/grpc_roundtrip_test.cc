// The gRPC API in process: a GrpcServer on a temp unix socket, the CLI's ControllerClient against
// it.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <random>

#include "api/limits.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/context.h"
#include "controller/server/grpc_server.h"
#include "controller/store/sqlite_store.h"

namespace cenv::cli {
namespace {

TEST_CASE("the API over the unix socket maps objects and errors", "[grpc]") {
  Home home{std::filesystem::temp_directory_path() /
            ("cenv-grpc-test-" + std::to_string(std::random_device{}()))};
  REQUIRE(home.ensure().ok());
  SystemClock clock;
  auto store = SqliteStore::open(home.database().string(), clock);
  REQUIRE(store.ok());
  ApiService api(*store.value(), KindRegistry::builtin().value(), clock);
  REQUIRE(api.ensure_default_namespace().ok());
  WatchHub hub(*store.value());
  api.set_on_commit([&hub] { hub.notify(); });
  GrpcServerOptions server_options;
  server_options.unix_socket = home.socket().string();
  server_options.store_description = "sqlite:test";
  auto server = GrpcServer::start(api, hub, server_options);
  REQUIRE(server.ok());

  struct stat st {};
  REQUIRE(stat(home.socket().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  ClientOptions options;
  options.autostart = false;
  auto client = Context::local(home).connect(options);
  auto hello = client->hello();
  REQUIRE(hello.ok());
  CHECK(hello->store() == "sqlite:test");

  v1::ApplyRequest req;
  auto* o = req.add_objects();
  o->set_json(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},)"
              R"("spec":{"ports":[{"containerPort":80}]}})");
  o->set_source("inline");
  auto applied = client->apply(req);
  REQUIRE(applied.ok());
  CHECK(applied->results(0).action() == "created");

  auto got = client->get("svc", "default", "web");
  REQUIRE(got.ok());
  CHECK(got->name() == "web");
  auto missing = client->get("svc", "default", "nope");
  CHECK(missing.status().code() == Code::kNotFound);

  o->set_json(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},)"
              R"("spec":{"ports":[{"containerPort":0}]}})");
  auto invalid = client->apply(req);
  CHECK(invalid.status().code() == Code::kInvalid);
  CHECK(!invalid.status().fields().empty());

  auto list = client->list("services", "", "");
  REQUIRE(list.ok());
  CHECK(list->first.size() == 1);
  CHECK(list->second != "");

  // A request past kMaxRequestBytes: check_request_size says so before sending, and the
  // controller, sent one anyway, refuses it with RESOURCE_EXHAUSTED, storing nothing.
  o->set_json(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"big"},)"
              R"("spec":{"ports":[{"containerPort":80}]},"pad":")" +
              std::string(kMaxRequestBytes, 'x') + "\"}");
  Status too_big = check_request_size(req);
  CHECK(too_big.code() == Code::kInvalid);
  CHECK_THAT(too_big.message(),
             Catch::StartsWith("the request is 67109") &&
                 Catch::EndsWith(" bytes, larger than the controller's limit of 67108864 bytes (1 "
                                 "objects, 0 module folders): apply the files in several calls"));
  auto refused = client->apply(req);
  CHECK(refused.status().code() == Code::kResourceExhausted);
  CHECK_THAT(refused.status().message(), Catch::Contains("larger than max"));
  CHECK(client->get("svc", "default", "big").status().code() == Code::kNotFound);

  auto deleted = client->remove("svc", "default", "web");
  REQUIRE(deleted.ok());
  CHECK(client->get("svc", "default", "web").status().code() == Code::kNotFound);

  server.value()->shutdown();
  auto down = Context::local(home).connect(options)->hello();
  CHECK(down.status().code() == Code::kUnavailable);
  std::filesystem::remove_all(home.root);
}

// The user managedFields entry `manager` of `o` names ("" when it names none).
std::string user_of(const Object& o, std::string_view manager) {
  for (const auto& e : o.json().at("metadata").at("managedFields").as_array()) {
    if (e.at("manager").as_string() == manager) {
      const auto* user = e.as_object().if_contains("user");
      return user ? std::string(user->as_string()) : "";
    }
  }
  return "(no entry)";
}

TEST_CASE("writes over the unix socket record its OS user and tell who wrote", "[grpc]") {
  Home home{std::filesystem::temp_directory_path() /
            ("cenv-grpc-test-" + std::to_string(std::random_device{}()))};
  REQUIRE(home.ensure().ok());
  SystemClock clock;
  auto store = SqliteStore::open(home.database().string(), clock);
  REQUIRE(store.ok());
  ApiService api(*store.value(), KindRegistry::builtin().value(), clock);
  REQUIRE(api.ensure_default_namespace().ok());
  std::vector<std::string> told;  // written on gRPC's threads, read after each call returns
  std::mutex mu;
  api.set_on_event([&](const Object& about, std::string_view, std::string_view reason,
                       std::string_view message, std::string_view user) {
    std::lock_guard lock(mu);
    told.push_back(std::string(about.name()) + " " + std::string(reason) + " " + std::string(user) +
                   ": " + std::string(message));
  });
  WatchHub hub(*store.value());
  GrpcServerOptions server_options;
  server_options.unix_socket = home.socket().string();
  auto server = GrpcServer::start(api, hub, server_options);
  REQUIRE(server.ok());
  ClientOptions options;
  options.autostart = false;
  auto client = Context::local(home).connect(options);

  // By default the socket's caller is the OS user this process runs as (the socket is 0600).
  struct passwd* me = getpwuid(geteuid());
  REQUIRE(me != nullptr);
  const std::string os_user = me->pw_name;
  v1::ApplyRequest req;
  auto* o = req.add_objects();
  o->set_json(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},)"
              R"("spec":{"ports":[{"containerPort":80}]}})");
  REQUIRE(client->apply(req).ok());
  auto got = client->get("svc", "default", "web");
  REQUIRE(got.ok());
  CHECK(user_of(got.value(), "cenv") == os_user);

  Object edited = got.value();
  edited.json()["spec"].as_object()["restartPolicy"] = "Never";
  REQUIRE(client->update(edited, "cenv-edit").ok());
  got = client->get("svc", "default", "web");
  REQUIRE(got.ok());
  CHECK(user_of(got.value(), "cenv-edit") == os_user);
  REQUIRE(client->remove("svc", "default", "web").ok());
  {
    std::lock_guard lock(mu);
    const std::string who = os_user + ": ";
    CHECK(told == std::vector<std::string>{
                      "web Created " + who + "created by " + os_user +
                          " (the local owner) with field manager cenv",
                      "web Updated " + who + "updated by " + os_user +
                          " (the local owner) with field manager cenv-edit",
                      "web Deleted " + who + "deleted by " + os_user + " (the local owner)"});
  }
  server.value()->shutdown();
  server->reset();

  // A gate told another name records that one.
  server_options.gate.local_user = "fred";
  server = GrpcServer::start(api, hub, server_options);
  REQUIRE(server.ok());
  client = Context::local(home).connect(options);
  REQUIRE(client->apply(req).ok());
  got = client->get("svc", "default", "web");
  REQUIRE(got.ok());
  CHECK(user_of(got.value(), "cenv") == "fred");
  server.value()->shutdown();
  std::filesystem::remove_all(home.root);
}

}  // namespace
}  // namespace cenv::cli
