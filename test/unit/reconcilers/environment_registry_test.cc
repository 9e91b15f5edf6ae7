// Environment.spec.registry against FakeDockerClient: the credentials secret's format, base
// images and Service images pulled with the credentials (refused without them, with a condition
// naming the registry and the secret's key), and the password never in an object, an event or
// the log.

#include "reconcilers/environment_registry.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

using testing::eventually;
using testing::ReconcilerBed;
using testing::spec_of;

constexpr const char* kRegistry = "reg.example:5000";
constexpr const char* kPrivateBase = "reg.example:5000/team/base:1";
constexpr const char* kPassword = "pa55:word-9";

// Everything the controller logs while it lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() { std::erase(spdlog::default_logger()->sinks(), sink_); }
  std::string text() {
    sink_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// The messages of every Event in `ns`.
std::string event_messages(ReconcilerBed& bed, const std::string& ns) {
  auto l = bed.f.client->list("Event", ns, {});
  REQUIRE(l.ok());
  std::string out;
  for (const Object& e : l->items) out += e.to_json() + "\n";
  return out;
}

// A bed whose fake registry kRegistry wants alice's credentials and holds kPrivateBase.
struct RegistryBed {
  RegistryBed() {
    bed.docker.set_registry_reachable(true);
    bed.docker.require_registry_credentials(kRegistry, {"alice", kPassword, kRegistry});
    bed.docker.add_pullable_image(kPrivateBase, testing::image(kPrivateBase));
  }
  bool image_ready(std::string_view status, std::string_view reason = {}) {
    return bed.condition_is("Environment", "", "dev", "ImageReady", status, reason);
  }
  std::string condition_message(std::string_view type) {
    auto c = get_condition(bed.get("Environment", "", "dev"), type);
    return c ? c->message : "";
  }
  // spec.secrets.regcred and spec.registry naming it.
  static boost::json::object with_registry(std::string_view credentials, bool push = false) {
    boost::json::object spec = spec_of(R"({"baseImage": "reg.example:5000/team/base:1"})");
    spec["secrets"] = boost::json::object{{"regcred", credentials}};
    spec["registry"] = boost::json::object{
        {"server", kRegistry}, {"credentialsSecret", "regcred"}, {"push", push}};
    return spec;
  }

  CapturedLog log;
  ReconcilerBed bed;
};

TEST_CASE("registry: the credentials secret is username:password, read for its server only",
          "[reconcilers][registry]") {
  testing::ApiFixture f;
  struct Row {
    std::string value;
    bool ok;
    std::string username, password;
  };
  const std::vector<Row> rows = {
      {"alice:s3cret", true, "alice", "s3cret"},
      {"alice:s3:cret\n", true, "alice", "s3:cret"},  // ':' in the password; newline dropped
      {"alice:s3cret\r\n", true, "alice", "s3cret"},
      {"alice", false, "", ""},
      {":s3cret", false, "", ""},
      {"alice:", false, "", ""},
  };
  int n = 0;
  for (const Row& row : rows) {
    INFO("secret value " << row.value);
    const std::string name = "env" + std::to_string(n++);
    Object env = f.create("Environment", "", name, RegistryBed::with_registry(row.value));
    auto auth = registry_auth(env, kPrivateBase, &f.secrets);
    REQUIRE(auth.ok() == row.ok);
    if (!row.ok) {
      CHECK(auth.status().code() == Code::kInvalid);
      REQUIRE(auth.status().fields().size() == 1);
      CHECK(auth.status().fields()[0].path == "spec.registry.credentialsSecret");
      CHECK_THAT(auth.status().message(), Catch::Contains("must be \"username:password\""));
      CHECK_THAT(auth.status().message(), !Catch::Contains("s3cret"));
      continue;
    }
    REQUIRE(auth->has_value());
    CHECK((*auth)->username == row.username);
    CHECK((*auth)->password == row.password);
    CHECK((*auth)->server_address == kRegistry);
    // An image on another registry (Docker Hub, another host) gets no credentials.
    for (const char* elsewhere : {"debian:12", "cenv/base:bookworm", "other.example/x:1"}) {
      auto none = registry_auth(env, elsewhere, &f.secrets);
      REQUIRE(none.ok());
      CHECK_FALSE(none->has_value());
    }
  }
  // No data key to open it: said, naming the key.
  Object env = f.create("Environment", "", "nokey", RegistryBed::with_registry("alice:s3cret"));
  auto no_key = registry_auth(env, kPrivateBase, nullptr);
  REQUIRE_FALSE(no_key.ok());
  CHECK_THAT(no_key.status().message(),
             Catch::Contains("Environment \"nokey\" secret \"regcred\": this controller has no "
                             "data key"));
}

TEST_CASE(
    "registry: a base image pull refused without credentials is RegistryUnauthorized and "
    "Stalled and with them it is pulled",
    "[reconcilers][registry]") {
  RegistryBed r;
  r.bed.environment("dev", spec_of(R"({"baseImage": "reg.example:5000/team/base:1"})"));
  REQUIRE(eventually([&] { return r.image_ready(kConditionFalse, "RegistryUnauthorized"); }));
  std::string message = r.condition_message("ImageReady");
  CHECK_THAT(message, Catch::Contains("registry reg.example:5000 refused to pull " +
                                      std::string(kPrivateBase) + " without credentials"));
  CHECK_THAT(message, Catch::Contains("spec.registry.credentialsSecret"));
  CHECK_THAT(message, Catch::Contains("no basic auth credentials"));
  CHECK(r.bed.condition_is("Environment", "", "dev", "Stalled", kConditionTrue,
                           "RegistryUnauthorized"));
  CHECK(r.bed.status_field(r.bed.get("Environment", "", "dev"), "phase") == "Failed");

  // The credentials, as a secret and spec.registry naming it.
  r.bed.update("Environment", "", "dev", [](Object& env) {
    env.json()["spec"] = RegistryBed::with_registry(std::string("alice:") + kPassword);
  });
  REQUIRE(eventually(
      [&] { return r.bed.condition_is("Environment", "", "dev", "Ready", kConditionTrue); }));
  CHECK(r.bed.docker.inspect_image(kPrivateBase).ok());
  CHECK(r.bed.status_field(r.bed.get("Environment", "", "dev"), "image") == kPrivateBase);
  CHECK_FALSE(get_condition(r.bed.get("Environment", "", "dev"), "Stalled"));
  CHECK(r.bed.docker.call_count("push_image") == 0);  // push is off by default
}

TEST_CASE("registry: wrong credentials name spec.registry.credentialsSecret, never the password",
          "[reconcilers][registry]") {
  RegistryBed r;
  r.bed.environment("dev", RegistryBed::with_registry("alice:not-the-password"));
  REQUIRE(eventually([&] { return r.image_ready(kConditionFalse, "RegistryUnauthorized"); }));
  std::string message = r.condition_message("ImageReady");
  CHECK_THAT(message, Catch::Contains("with the credentials of spec.registry.credentialsSecret "
                                      "\"regcred\""));
  CHECK_THAT(message, Catch::Contains("unauthorized: authentication required"));
  CHECK(r.bed.condition_is("Environment", "", "dev", "Stalled", kConditionTrue));
  // Neither password is anywhere a user or an operator can read.
  for (const std::string& secret : {std::string("not-the-password"), std::string(kPassword)}) {
    CHECK_THAT(r.bed.get("Environment", "", "dev").to_json(), !Catch::Contains(secret));
    CHECK_THAT(event_messages(r.bed, "default"), !Catch::Contains(secret));
    CHECK_THAT(r.log.text(), !Catch::Contains(secret));
  }

  // A value that is not username:password says so, and still never shows it.
  r.bed.update("Environment", "", "dev", [](Object& env) {
    env.json()["spec"] = RegistryBed::with_registry("just-a-token");
  });
  REQUIRE(eventually([&] { return r.image_ready(kConditionFalse, "RegistryCredentialsInvalid"); }));
  CHECK_THAT(r.condition_message("ImageReady"), Catch::Contains("must be \"username:password\""));
  CHECK_THAT(r.condition_message("ImageReady"), !Catch::Contains("just-a-token"));
  CHECK(r.bed.condition_is("Environment", "", "dev", "Stalled", kConditionTrue));
}

TEST_CASE("registry: a Service image on the registry is pulled with the Environment's credentials",
          "[reconcilers][registry][service]") {
  RegistryBed r;
  const std::string app = "reg.example:5000/team/app:2";
  r.bed.docker.add_pullable_image(app, testing::image(app));
  // The base image is local; the registry serves the Service's own image.
  boost::json::object spec = RegistryBed::with_registry("alice:wrong");
  spec.erase("baseImage");
  r.bed.environment("dev", spec);
  REQUIRE(eventually(
      [&] { return r.bed.condition_is("Environment", "", "dev", "Ready", kConditionTrue); }));
  r.bed.service("dev", "web", spec_of(R"({"image": "reg.example:5000/team/app:2"})"));
  REQUIRE(eventually([&] {
    return r.bed.condition_is("Service", "dev", "web", "Ready", kConditionFalse,
                              "RegistryUnauthorized");
  }));
  auto cond = get_condition(r.bed.get("Service", "dev", "web"), "Ready");
  REQUIRE(cond);
  CHECK_THAT(cond->message, Catch::Contains("spec.registry.credentialsSecret \"regcred\""));
  CHECK(r.bed.containers("dev", "web").empty());

  r.bed.update("Environment", "", "dev", [](Object& env) {
    env.spec()["secrets"] = boost::json::object{{"regcred", std::string("alice:") + kPassword}};
  });
  REQUIRE(eventually([&] { return r.bed.ready("dev", "web"); }));
  CHECK(r.bed.container(r.bed.containers("dev", "web")[0].id).image == app);
  CHECK_THAT(event_messages(r.bed, "dev"), !Catch::Contains(kPassword));
  CHECK_THAT(r.bed.get("Service", "dev", "web").to_json(), !Catch::Contains(kPassword));
  CHECK_THAT(r.log.text(), !Catch::Contains(kPassword));
}

}  // namespace
}  // namespace cenv
