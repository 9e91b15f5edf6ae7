// Environment secrets through the ApiService: sealed before they reach the store on every write
// path, redacted for clients, and an unchanged secret leaves an apply "unchanged".

#include <catch2/catch.hpp>
#include <string>

#include "api/environment_secrets.h"
#include "api/yaml_codec.h"
#include "controller/server/api_service.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

namespace json = boost::json;

constexpr std::string_view kPlain = "hunter2-plain";

std::string env_yaml(std::string_view value, std::string_view key = "DB") {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: demo}\nspec:\n  secrets:\n"
         "    " +
         std::string(key) + ": \"" + std::string(value) + "\"\n";
}

std::vector<ApplyItem> items(const std::string& yaml) {
  auto docs = parse_manifest(yaml, "test.yaml");
  REQUIRE(docs.ok());
  std::vector<ApplyItem> out;
  for (auto& d : docs.value()) out.push_back({Object(d.value.as_object()), "test.yaml"});
  return out;
}

// The stored value of secret `key` of Environment demo, as the store holds it.
std::string stored_secret(testing::ApiFixture& f, std::string_view key = "DB") {
  auto env = f.store->get({"Environment", "", "demo"});
  REQUIRE(env.ok());
  return std::string(env->spec().at("secrets").at(key).as_string());
}

Result<std::string> apply_action(testing::ApiFixture& f, const std::string& yaml) {
  auto r = f.api->apply(items(yaml), {});
  if (!r.ok()) return r.status();
  return r->front().action;
}

TEST_CASE("apply seals a secret before the store: ciphertext bound to its Environment and key",
          "[api][secrets]") {
  testing::ApiFixture f;
  REQUIRE(apply_action(f, env_yaml(kPlain)).value() == "created");
  std::string stored = stored_secret(f);
  CHECK(f.secrets.is_sealed(stored));
  CHECK(stored.find(kPlain) == std::string::npos);
  CHECK(f.secrets.open(stored, "Environment/demo/spec.secrets/DB").value() == kPlain);
  CHECK_FALSE(f.secrets.open(stored, "Environment/other/spec.secrets/DB").ok());
  CHECK_FALSE(f.secrets.open(stored, "Environment/demo/spec.secrets/OTHER").ok());
}

TEST_CASE("apply of an unchanged secret is unchanged, of a changed one configured",
          "[api][secrets]") {
  testing::ApiFixture f;
  REQUIRE(apply_action(f, env_yaml(kPlain)).value() == "created");
  std::string first = stored_secret(f);
  CHECK(apply_action(f, env_yaml(kPlain)).value() == "unchanged");
  CHECK(stored_secret(f) == first);

  auto changed = f.api->apply(items(env_yaml("new-value")), {});
  REQUIRE(changed.ok());
  CHECK(changed->front().action == "configured");
  CHECK(changed->front().changed_secrets == std::set<std::string>{"DB"});
  CHECK(stored_secret(f) != first);
  CHECK(f.secrets.open(stored_secret(f), "Environment/demo/spec.secrets/DB").value() ==
        "new-value");
  // What a client receives says the secret changed, and shows neither value.
  std::string shown = to_client_json(changed->front().object, changed->front().changed_secrets);
  CHECK(shown.find(kRedactedChangedSecret) != std::string::npos);
  CHECK(shown.find("new-value") == std::string::npos);
  CHECK(shown.find("enc:") == std::string::npos);
}

TEST_CASE("update seals, keeps a secret sent back redacted, and refuses what does not open",
          "[api][secrets]") {
  testing::ApiFixture f;
  REQUIRE(apply_action(f, env_yaml(kPlain)).value() == "created");
  const std::string first = stored_secret(f);
  auto read = f.api->get("Environment", "", "demo");
  REQUIRE(read.ok());
  Object client_copy = read.value();
  redact_secrets(client_copy);  // what `cenv get -o yaml` / `cenv edit` hold

  SECTION("the redacted marker keeps the stored value") {
    client_copy.spec()["variables"] = json::object{{"A", "1"}};
    REQUIRE(f.api->update(client_copy, "editor").ok());
    CHECK(stored_secret(f) == first);
  }
  SECTION("a new plaintext value is sealed") {
    client_copy.spec()["secrets"].as_object()["NEW"] = "other-plain";
    REQUIRE(f.api->update(client_copy, "editor").ok());
    CHECK(stored_secret(f) == first);
    CHECK(f.secrets.is_sealed(stored_secret(f, "NEW")));
    CHECK(stored_secret(f, "NEW").find("other-plain") == std::string::npos);
  }
  SECTION("the marker for a key nothing is stored under is Invalid naming the field") {
    client_copy.spec()["secrets"].as_object()["NEW"] = kRedactedSecret;
    auto r = f.api->update(client_copy, "editor");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalid);
    CHECK(r.status().message().find("spec.secrets.NEW") != std::string::npos);
  }
  SECTION("a sealed value sent back is kept when it opens, refused when it does not") {
    client_copy.spec()["secrets"].as_object()["DB"] = first;
    REQUIRE(f.api->update(client_copy, "editor").ok());
    CHECK(stored_secret(f) == first);
    // Sealed for another key: moved, so it does not authenticate.
    client_copy.spec()["secrets"].as_object()["OTHER"] = first;
    auto moved = f.api->update(client_copy, "editor");
    REQUIRE_FALSE(moved.ok());
    CHECK(moved.status().code() == Code::kInvalid);
    CHECK(moved.status().message().find("spec.secrets.OTHER") != std::string::npos);
  }
}

TEST_CASE("apply refuses a tampered sealed value, naming the Environment and key",
          "[api][secrets]") {
  testing::ApiFixture f;
  REQUIRE(apply_action(f, env_yaml(kPlain)).value() == "created");
  std::string tampered = stored_secret(f);
  tampered[20] = tampered[20] == 'A' ? 'B' : 'A';  // a nonce bit (not base64 padding)
  auto r = f.api->apply(items(env_yaml(tampered)), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().message().find("Environment \"demo\": spec.secrets.DB") != std::string::npos);
  CHECK(stored_secret(f) != tampered);
}

TEST_CASE("a controller without a data key refuses secrets and stores nothing", "[api][secrets]") {
  testing::ApiFixture f;
  f.api->set_secret_box(nullptr);
  auto r = f.api->apply(items(env_yaml(kPlain)), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kFailedPrecondition);
  CHECK(f.store->get({"Environment", "", "demo"}).status().code() == Code::kNotFound);
}

TEST_CASE("what a client receives of an Environment shows every secret redacted",
          "[api][secrets]") {
  testing::ApiFixture f;
  REQUIRE(apply_action(f, env_yaml(kPlain)).value() == "created");
  auto read = f.api->get("Environment", "", "demo");
  REQUIRE(read.ok());
  auto shown = json::parse(to_client_json(read.value()));
  CHECK(shown.at("spec").at("secrets").at("DB").as_string() == kRedactedSecret);
  // The object itself (what reconcilers read) is left sealed.
  CHECK(f.secrets.is_sealed(std::string(read->spec().at("secrets").at("DB").as_string())));
}

}  // namespace
}  // namespace cenv
