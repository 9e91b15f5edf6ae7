#include "controller/server/git_webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <array>

#include "api/json_fields.h"
#include "api/names.h"
#include "api/sync_request.h"

namespace cenv {

namespace {

using Digest = std::array<unsigned char, 32>;

constexpr std::string_view kSignaturePrefix = "sha256=";

Digest hmac_sha256(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

Digest sha256(std::string_view data) {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 32 bytes `hex` (64 hex digits) spells; nullopt for any other text.
std::optional<Digest> parse_hex_digest(std::string_view hex) {
  Digest out{};
  if (hex.size() != out.size() * 2) return std::nullopt;
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return out;
}

WebhookAnswer answer(int status, std::string message) { return {status, std::move(message)}; }

}  // namespace

Status verify_hub_signature(std::string_view body, std::string_view secret,
                            const std::optional<std::string>& header) {
  if (!header) return Status::Unauthenticated("missing header X-Hub-Signature-256");
  std::string_view value(*header);
  if (value.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
    return Status::Unauthenticated("X-Hub-Signature-256 must be sha256=<64 hex digits>");
  }
  auto given = parse_hex_digest(value.substr(kSignaturePrefix.size()));
  if (!given) return Status::Unauthenticated("X-Hub-Signature-256 must be sha256=<64 hex digits>");
  const Digest expected = hmac_sha256(secret, body);
  if (CRYPTO_memcmp(given->data(), expected.data(), expected.size()) != 0) {
    return Status::Unauthenticated("the signature X-Hub-Signature-256 does not match the body");
  }
  return Status::Ok();
}

Status verify_gitlab_token(std::string_view secret, const std::optional<std::string>& token) {
  if (!token) return Status::Unauthenticated("missing header X-Gitlab-Token");
  // Digests first: equal lengths, so the comparison tells nothing about the secret's length.
  const Digest given = sha256(*token);
  const Digest expected = sha256(secret);
  if (CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return Status::Unauthenticated("the token X-Gitlab-Token is not the webhook secret");
  }
  return Status::Ok();
}

WebhookAnswer GitWebhook::handle(std::string_view environment, const WebhookRequest& request) {
  const std::string name(environment);
  if (!check_dns1123_label(name).empty()) {
    return answer(404, "not found: an Environment name is a DNS-1123 label");
  }
  const std::string shown = "environment/" + name;
  auto env = api_.get("Environment", "", name);
  if (!env.ok()) {
    if (env.status().code() == Code::kNotFound) return answer(404, shown + " not found");
    spdlog::warn("git webhook for {}: {}", shown, env.status().message());
    return answer(503, "cannot read " + shown + ": " + env.status().message());
  }
  if (!has_git_source(env.value())) {
    return answer(404, shown + " has no spec.source: it does not follow a Git repository");
  }
  const std::string key(
      string_field(object_field(env->spec_or_null(), "source"), "webhookSecretRef"));
  if (key.empty()) {
    return answer(400, shown +
                           " has no webhook secret: set spec.source.webhookSecretRef to a "
                           "key of spec.secrets");
  }
  if (secrets_ == nullptr) {
    return answer(500, "this controller cannot open Environment secrets");
  }
  auto secret = open_secret(env.value(), key, *secrets_);
  if (!secret.ok()) {
    if (secret.status().code() == Code::kNotFound) {
      return answer(400, shown + ": spec.source.webhookSecretRef \"" + key +
                             "\" names no key of spec.secrets");
    }
    spdlog::error("git webhook for {}: spec.source.webhookSecretRef: {}", shown,
                  secret.status().message());
    return answer(500, "the webhook secret of " + shown + " cannot be opened");
  }
  if (secret->empty()) {
    return answer(400, shown + ": the webhook secret spec.secrets." + key + " is empty");
  }
  Status authentic = request.hub_signature || !request.gitlab_token
                         ? verify_hub_signature(request.body, *secret, request.hub_signature)
                         : verify_gitlab_token(*secret, request.gitlab_token);
  if (!authentic.ok()) {
    spdlog::warn("git webhook for {}: refused: {}", shown, authentic.message());
    return answer(401, authentic.message());
  }
  auto requested = request_sync(name);
  if (!requested.ok()) {
    if (requested.status().code() == Code::kNotFound) return answer(404, shown + " not found");
    spdlog::warn("git webhook for {}: {}", shown, requested.status().message());
    return answer(503, "cannot request the sync of " + shown + ": " + requested.status().message());
  }
  spdlog::info("git webhook: sync of {} requested ({} {})", shown, "cenv.io/sync-requested-at",
               requested.value());
  return answer(202, "sync of " + shown + " requested");
}

Result<std::string> GitWebhook::request_sync(const std::string& environment) {
  for (int attempt = 0;; ++attempt) {
    auto env = api_.get("Environment", "", environment);
    if (!env.ok()) return env.status();
    std::string value = record_sync_request(env.value(), clock_.now());
    auto stored = api_.update(std::move(env).value(), std::string(kWebhookFieldManager));
    if (stored.ok()) return value;
    if (stored.status().code() != Code::kConflict || attempt == 4) return stored.status();
  }
}

}  // namespace cenv
