// container_env: one precedence and one error for the variables of a Service's and a
// CommandRun's container.

#include "reconcilers/container_env.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "controller/security/keyring_secret_box.h"

namespace cenv {
namespace {

Object make(std::string_view kind, std::string_view ns, std::string_view name,
            std::string_view spec_json) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = kind;
  o.set_name(name);
  if (!ns.empty()) o.set_ns(ns);
  o.json()["spec"] = boost::json::parse(spec_json);
  return o;
}

TEST_CASE("container_env: variables then env then secretEnv, and a missing secret names its field",
          "[reconcilers][container_env]") {
  struct Row {
    std::string name;
    std::string environment;  // the Environment's spec
    std::string owner;        // the Service's / CommandRun's spec
    std::vector<std::string> want;
    std::string error;  // non-empty: the expected Invalid message (want unused)
  };
  const std::vector<Row> rows = {
      {"nothing set", "{}", "{}", {}, ""},
      {"the Environment's variables, sorted",
       R"({"variables": {"B": "2", "A": "1"}})",
       "{}",
       {"A=1", "B=2"},
       ""},
      {"env over variables",
       R"({"variables": {"A": "env", "B": "env"}})",
       R"({"env": [{"name": "B", "value": "own"}, {"name": "C", "value": "own"}]})",
       {"A=env", "B=own", "C=own"},
       ""},
      {"a later env item wins over an earlier one",
       "{}",
       R"({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]})",
       {"A=2"},
       ""},
      {"an env item without value is empty", "{}", R"({"env": [{"name": "A"}]})", {"A="}, ""},
      {"secretEnv over env and variables",
       R"({"variables": {"PW": "var"}, "secrets": {"DB": "s3cret"}})",
       R"({"env": [{"name": "PW", "value": "env"}],
           "secretEnv": [{"name": "PW", "secretKey": "DB"}]})",
       {"PW=s3cret"},
       ""},
      {"non-string variables and non-object items are skipped",
       R"({"variables": {"N": 1, "S": "x"}})",
       R"({"env": ["A=1", {"name": "B", "value": "b"}]})",
       {"B=b", "S=x"},
       ""},
      {"a missing secret",
       R"({"secrets": {"DB": "x"}})",
       R"({"secretEnv": [{"name": "A", "secretKey": "DB"}, {"name": "B", "secretKey": "NOPE"}]})",
       {},
       "spec.secretEnv[1].secretKey: Environment dev has no secret \"NOPE\""},
      {"no secrets at all",
       "{}",
       R"({"secretEnv": [{"name": "A", "secretKey": "DB"}]})",
       {},
       "spec.secretEnv[0].secretKey: Environment dev has no secret \"DB\""},
      {"a secret that is not a string",
       R"({"secrets": {"DB": 5}})",
       R"({"secretEnv": [{"name": "A", "secretKey": "DB"}]})",
       {},
       "spec.secretEnv[0].secretKey: Environment dev has no secret \"DB\""},
  };
  security::KeyringSecretBox box(security::DataKey::generate().value(), {});
  for (const char* kind : {"Service", "CommandRun"}) {
    for (const Row& row : rows) {
      INFO(kind << ": " << row.name);
      Object env = make("Environment", "", "dev", row.environment);
      REQUIRE(seal_secrets(env, nullptr, box).ok());  // as the store holds them
      Object owner = make(kind, "dev", "web", row.owner);
      auto got = container_env(owner, env, &box);
      if (row.error.empty()) {
        INFO(got.status().to_string());
        REQUIRE(got.ok());
        CHECK(got.value() == row.want);
      } else {
        REQUIRE_FALSE(got.ok());
        CHECK(got.status().code() == Code::kInvalid);
        CHECK(got.status().message() == row.error);
        REQUIRE(got.status().fields().size() == 1);
        CHECK(got.status().message().starts_with(got.status().fields()[0].path + ": "));
      }
    }
  }
}

// The secret of Environment dev (spec {"secrets": {"DB": "s3cret"}}) sealed under `box`.
Object sealed_environment(const SecretBox& box) {
  Object env = make("Environment", "", "dev", R"({"secrets": {"DB": "s3cret"}})");
  REQUIRE(seal_secrets(env, nullptr, box).ok());
  return env;
}

TEST_CASE("container_env: a secret reaches the container only as its box opens it",
          "[reconcilers][container_env]") {
  security::KeyringSecretBox box(security::DataKey::generate().value(), {});
  Object owner =
      make("Service", "dev", "web", R"({"secretEnv": [{"name": "PW", "secretKey": "DB"}]})");
  Object env = sealed_environment(box);
  boost::json::value& stored = env.spec()["secrets"].as_object()["DB"];
  CHECK(stored.as_string().find("s3cret") == boost::json::string::npos);

  SECTION("opened with the data key") {
    auto got = container_env(owner, env, &box);
    REQUIRE(got.ok());
    CHECK(got.value() == std::vector<std::string>{"PW=s3cret"});
  }
  SECTION("without a data key: Invalid naming the field") {
    auto got = container_env(owner, env, nullptr);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().message().starts_with("spec.secretEnv[0].secretKey: "));
  }
  SECTION("under another key: refused, naming the Environment and key") {
    security::KeyringSecretBox other(security::DataKey::generate().value(), {});
    auto got = container_env(owner, env, &other);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
    CHECK(got.status().message().starts_with(
        "spec.secretEnv[0].secretKey: Environment \"dev\" secret \"DB\": "));
  }
  SECTION("a tampered ciphertext fails the GCM tag and shows no plaintext") {
    std::string text(stored.as_string());
    text[20] = text[20] == 'A' ? 'B' : 'A';  // a nonce bit (not base64 padding)
    stored = text;
    auto got = container_env(owner, env, &box);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().message().find("Environment \"dev\" secret \"DB\"") != std::string::npos);
    CHECK(got.status().message().find("s3cret") == std::string::npos);
  }
  SECTION("a ciphertext moved to another Environment does not open there") {
    Object other = make("Environment", "", "prod", "{}");
    other.spec()["secrets"] = boost::json::object{{"DB", stored}};
    auto got = container_env(
        make("Service", "prod", "web", R"({"secretEnv": [{"name": "PW", "secretKey": "DB"}]})"),
        other, &box);
    REQUIRE_FALSE(got.ok());
  }
}

}  // namespace
}  // namespace cenv
