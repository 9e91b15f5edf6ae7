// Environment secrets over the gRPC API: a client receives every secret redacted — from apply,
// get, list, watch and delete — never the plaintext nor the ciphertext.

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "api/environment_secrets.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/context.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/server/grpc_server.h"
#include "controller/store/sqlite_store.h"

namespace cenv::cli {
namespace {

constexpr std::string_view kPlain = "hunter2-over-grpc";

// Neither the plaintext nor any ciphertext, and every secret redacted.
void check_redacted(const Object& o) {
  INFO(o.to_json());
  CHECK(o.to_json().find(kPlain) == std::string::npos);
  CHECK(o.to_json().find("enc:") == std::string::npos);
  CHECK(o.spec_or_null()->at("secrets").at("DB").as_string().starts_with(
      kRedactedSecret.substr(0, 9)));
}

TEST_CASE("the API shows Environment secrets redacted on every call", "[grpc][secrets]") {
  Home home{std::filesystem::temp_directory_path() /
            ("cenv-grpc-secrets-" + std::to_string(std::random_device{}()))};
  REQUIRE(home.ensure().ok());
  SystemClock clock;
  auto store = SqliteStore::open(home.database().string(), clock);
  REQUIRE(store.ok());
  security::KeyringSecretBox box(security::DataKey::generate().value(), {});
  ApiService api(*store.value(), KindRegistry::builtin().value(), clock);
  api.set_secret_box(&box);
  REQUIRE(api.ensure_default_namespace().ok());
  WatchHub hub(*store.value());
  api.set_on_commit([&hub] { hub.notify(); });
  GrpcServerOptions server_options;
  server_options.unix_socket = home.socket().string();
  auto server = GrpcServer::start(api, hub, server_options);
  REQUIRE(server.ok());
  ClientOptions options;
  options.autostart = false;
  auto client = Context::local(home).connect(options);

  v1::ApplyRequest req;
  auto* o = req.add_objects();
  o->set_json(R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"demo"},)"
              R"("spec":{"secrets":{"DB":")" +
              std::string(kPlain) + R"("}}})");
  auto applied = client->apply(req);
  REQUIRE(applied.ok());
  CHECK(applied->results(0).json().find(kPlain) == std::string::npos);
  CHECK(applied->results(0).json().find("enc:") == std::string::npos);

  auto got = client->get("env", "", "demo");
  REQUIRE(got.ok());
  check_redacted(got.value());
  CHECK(got->spec_or_null()->at("secrets").at("DB").as_string() == kRedactedSecret);

  auto list = client->list("env", "", "");
  REQUIRE(list.ok());
  for (const Object& item : list->first) {
    if (item.name() == "demo") check_redacted(item);
  }

  int seen = 0;
  Status watched = client->watch(
      "env", "", "", "",
      [&](const std::string&, const Object& e) {
        if (e.name() == "demo") {
          check_redacted(e);
          ++seen;
        }
        return seen == 0;
      },
      std::chrono::system_clock::now() + std::chrono::seconds(10));
  CHECK(watched.ok());
  CHECK(seen == 1);

  // A client that sends back what it read keeps the stored secret.
  Object edited = got.value();
  edited.spec()["variables"] = boost::json::object{{"A", "1"}};
  auto updated = client->update(edited, "editor");
  REQUIRE(updated.ok());
  check_redacted(updated.value());
  auto stored = store.value()->get({"Environment", "", "demo"});
  REQUIRE(stored.ok());
  CHECK(open_secret(stored.value(), "DB", box).value() == kPlain);

  auto deleted = client->remove("env", "", "demo");
  REQUIRE(deleted.ok());
  for (const Object& d : deleted.value()) check_redacted(d);

  server.value()->shutdown();
  std::filesystem::remove_all(home.root);
}

}  // namespace
}  // namespace cenv::cli
