#pragma once
// GitWebhook: `POST /hooks/git/<environment>` on the controller's HTTP listener. A Git host
// (GitHub, Gitea, GitLab) calls it on a push; a request signed with the Environment's webhook
// secret (spec.source.webhookSecretRef, a key of its sealed spec.secrets) sets the annotation
// cenv.io/sync-requested-at on the Environment, so its Git source syncs at once instead of at
// its next interval. The secret, the signature and the token are never logged or answered.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/clock.h"
#include "api/environment_secrets.h"
#include "api/status.h"
#include "controller/server/api_service.h"

namespace cenv {

// The field manager the webhook's writes are recorded under (a system write, not a user's).
inline constexpr std::string_view kWebhookFieldManager = "cenv-webhook";
// The largest body a webhook request may have (GitHub sends at most 25 MB, but a push payload
// is a few kilobytes; bigger is refused with 413).
inline constexpr size_t kMaxWebhookBodyBytes = 1024 * 1024;

// A webhook call as it arrived: the raw body and the headers that authenticate it.
struct WebhookRequest {
  std::string body;
  std::optional<std::string> hub_signature;  // X-Hub-Signature-256 (GitHub, Gitea)
  std::optional<std::string> gitlab_token;   // X-Gitlab-Token (GitLab)
};

// What to answer: an HTTP status code and a one-line text body.
struct WebhookAnswer {
  int status = 500;
  std::string message;
};

// Ok when `header` is "sha256=<hex>" holding the HMAC-SHA256 of `body` under `secret` (hex in
// either case). Unauthenticated otherwise, saying which: the header is missing (nullopt), has
// another form, or does not match. Compares in constant time.
Status verify_hub_signature(std::string_view body, std::string_view secret,
                            const std::optional<std::string>& header);

// Ok when `token` (X-Gitlab-Token) equals `secret`; Unauthenticated when missing or not equal.
// Compares in constant time (also in the lengths).
Status verify_gitlab_token(std::string_view secret, const std::optional<std::string>& token);

// Handles the webhook of each Environment. Thread-safe (the ApiService is).
class GitWebhook {
 public:
  // `secrets` opens the Environments' sealed secrets; nullptr: no secret can be opened (every
  // call answers 500). `api` and `secrets` must outlive this object.
  GitWebhook(ApiService& api, const SecretOpener* secrets, const Clock& clock)
      : api_(api), secrets_(secrets), clock_(clock) {}

  // 202 when the request is authentic and the sync request is recorded; 404 for an unknown
  // Environment or one without spec.source; 400 when spec.source.webhookSecretRef is not set
  // (or names an empty secret); 401 when the signature (X-Hub-Signature-256) or the token
  // (X-Gitlab-Token, read only without a signature) is missing or wrong; 500/503 when the
  // secret cannot be opened or the store does not answer.
  WebhookAnswer handle(std::string_view environment, const WebhookRequest& request);

 private:
  // Sets the annotation on the stored Environment, reading it again on a Conflict.
  Result<std::string> request_sync(const std::string& environment);

  ApiService& api_;
  const SecretOpener* secrets_;
  const Clock& clock_;
};

}  // namespace cenv
