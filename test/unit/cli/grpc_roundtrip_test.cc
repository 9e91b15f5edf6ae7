// The gRPC API in process: a GrpcServer on a temp unix socket, the CLI's ControllerClient against
// it.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
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

}  // namespace
}  // namespace cenv::cli
