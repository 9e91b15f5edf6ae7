// The Git webhook: the signature check (GitHub's X-Hub-Signature-256, GitLab's X-Gitlab-Token)
// and what GitWebhook answers and writes, against a real ApiService and store.

#include "controller/server/git_webhook.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/annotations.h"
#include "api/json_fields.h"
#include "test/fakes/fake_clock.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

namespace json = boost::json;

// GitHub's documented example (docs: "Validating webhook deliveries").
constexpr std::string_view kSecret = "It's a Secret to Everybody";
constexpr std::string_view kBody = "Hello, World!";
const std::string kGoodSignature =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST_CASE("verify_hub_signature takes only the HMAC-SHA256 of the exact body", "[webhook]") {
  struct Row {
    std::string name;
    std::optional<std::string> header;
    std::string body;
    bool ok;
    std::string says;
  };
  std::string upper = kGoodSignature;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  std::string flipped = kGoodSignature;
  flipped.back() = flipped.back() == '7' ? '8' : '7';
  const std::vector<Row> rows = {
      {"good", kGoodSignature, std::string(kBody), true, ""},
      {"good, upper-case hex", upper, std::string(kBody), true, ""},
      {"missing", std::nullopt, std::string(kBody), false, "missing header X-Hub-Signature-256"},
      {"empty", "", std::string(kBody), false, "must be sha256="},
      {"wrong prefix (sha1=)", "sha1=" + kGoodSignature.substr(7), std::string(kBody), false,
       "must be sha256="},
      {"no prefix", kGoodSignature.substr(7), std::string(kBody), false, "must be sha256="},
      {"short", kGoodSignature.substr(0, kGoodSignature.size() - 2), std::string(kBody), false,
       "must be sha256="},
      {"not hex", kGoodSignature.substr(0, kGoodSignature.size() - 1) + "g", std::string(kBody),
       false, "must be sha256="},
      {"one digit off", flipped, std::string(kBody), false, "does not match"},
      {"body tampered", kGoodSignature, "Hello, World?", false, "does not match"},
      {"body with a trailing newline", kGoodSignature, std::string(kBody) + "\n", false,
       "does not match"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Status s = verify_hub_signature(row.body, kSecret, row.header);
    CHECK(s.ok() == row.ok);
    if (!row.ok) {
      CHECK(s.code() == Code::kUnauthenticated);
      CHECK(s.message().find(row.says) != std::string::npos);
      // Neither the secret nor the expected signature is ever told.
      CHECK(s.message().find(kSecret) == std::string::npos);
      CHECK(s.message().find(kGoodSignature.substr(7)) == std::string::npos);
    }
  }
  CHECK_FALSE(verify_hub_signature(kBody, "another secret", kGoodSignature).ok());
}

TEST_CASE("verify_gitlab_token takes exactly the secret", "[webhook]") {
  CHECK(verify_gitlab_token(kSecret, std::string(kSecret)).ok());
  CHECK(verify_gitlab_token(kSecret, std::nullopt).code() == Code::kUnauthenticated);
  CHECK_FALSE(verify_gitlab_token(kSecret, std::string(kSecret) + "x").ok());
  CHECK_FALSE(verify_gitlab_token(kSecret, std::string(kSecret.substr(1))).ok());
  CHECK_FALSE(verify_gitlab_token(kSecret, "").ok());
}

struct WebhookFixture {
  testing::ApiFixture f;
  testing::FakeClock clock;
  GitWebhook webhook{*f.api, &f.secrets, clock};

  // Creates Environment `name` with a Git source; `webhook_key` (when set) as its
  // webhookSecretRef, holding `secret`.
  void create_env(const std::string& name, bool with_source, const std::string& webhook_key,
                  const std::string& secret = std::string(kSecret)) {
    json::object spec;
    if (with_source) {
      json::object source{{"git", json::object{{"url", "file:///srv/ops.git"}}}};
      if (!webhook_key.empty()) source["webhookSecretRef"] = webhook_key;
      spec["source"] = std::move(source);
    }
    if (!webhook_key.empty()) spec["secrets"] = json::object{{webhook_key, secret}};
    f.create("Environment", "", name, std::move(spec));
  }

  std::string requested_at(const std::string& name) {
    auto env = f.api->get("Environment", "", name);
    REQUIRE(env.ok());
    return std::string(string_field(object_field(env->metadata_or_null(), "annotations"),
                                    kSyncRequestedAtAnnotation));
  }
};

WebhookRequest signed_request(std::string signature = kGoodSignature) {
  return {std::string(kBody), std::move(signature), std::nullopt};
}

TEST_CASE("a signed webhook records a sync request as the webhook's field manager", "[webhook]") {
  WebhookFixture w;
  w.create_env("shop", true, "hook");
  WebhookAnswer a = w.webhook.handle("shop", signed_request());
  INFO(a.message);
  CHECK(a.status == 202);
  CHECK(a.message == "sync of environment/shop requested");
  CHECK(w.requested_at("shop") == "2027-01-15T08:00:00.000Z");
  auto env = w.f.api->get("Environment", "", "shop");
  REQUIRE(env.ok());
  CHECK(json::serialize(env->metadata().at("managedFields")).find("cenv-webhook") !=
        std::string::npos);
  // A second push within the same millisecond is a second request.
  CHECK(w.webhook.handle("shop", signed_request()).status == 202);
  CHECK(w.requested_at("shop") == "2027-01-15T08:00:00.001Z");
  // GitLab's token.
  w.clock.advance(std::chrono::seconds(1));
  CHECK(w.webhook.handle("shop", {"{}", std::nullopt, std::string(kSecret)}).status == 202);
  CHECK(w.requested_at("shop") == "2027-01-15T08:00:01.000Z");
}

TEST_CASE("the webhook answers 401, 404 and 400 and then writes nothing", "[webhook]") {
  WebhookFixture w;
  w.create_env("shop", true, "hook");
  w.create_env("plain", false, "");
  w.create_env("nohook", true, "");
  w.create_env("emptyhook", true, "hook", "");
  struct Row {
    std::string name;
    std::string env;
    WebhookRequest request;
    int status;
    std::string says;
  };
  std::string bad = kGoodSignature;
  bad.back() = '0';
  const std::vector<Row> rows = {
      {"bad signature", "shop", signed_request(bad), 401, "does not match"},
      {"missing signature",
       "shop",
       {std::string(kBody), std::nullopt, std::nullopt},
       401,
       "missing header X-Hub-Signature-256"},
      {"tampered body",
       "shop",
       {"Hello, World?", kGoodSignature, std::nullopt},
       401,
       "does not match"},
      {"wrong GitLab token",
       "shop",
       {"{}", std::nullopt, std::string("nope")},
       401,
       "X-Gitlab-Token"},
      // A signature is checked when present, even beside a right token.
      {"bad signature, right token",
       "shop",
       {"{}", bad, std::string(kSecret)},
       401,
       "does not match"},
      {"unknown Environment", "nope", signed_request(), 404, "environment/nope not found"},
      {"not a name", "Shop/../x", signed_request(), 404, "DNS-1123"},
      {"no spec.source", "plain", signed_request(), 404, "has no spec.source"},
      {"no webhook secret", "nohook", signed_request(), 400, "spec.source.webhookSecretRef"},
      {"empty webhook secret", "emptyhook", signed_request(), 400, "is empty"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    WebhookAnswer a = w.webhook.handle(row.env, row.request);
    INFO(a.message);
    CHECK(a.status == row.status);
    CHECK(a.message.find(row.says) != std::string::npos);
    CHECK(a.message.find(kSecret) == std::string::npos);
  }
  CHECK(w.requested_at("shop").empty());
  CHECK(w.requested_at("nohook").empty());
}

}  // namespace
}  // namespace cenv
