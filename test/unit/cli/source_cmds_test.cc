// `cenv sync`, `suspend` and `resume` on Environment objects written here: which arguments name
// an Environment, the suspend patch, and following a sync request to its outcome.

#include "cli/source_cmds.h"

#include <catch2/catch.hpp>

#include "api/annotations.h"
#include "api/clock.h"
#include "api/json_fields.h"
#include "api/sync_request.h"

namespace cenv::cli {
namespace {

namespace json = boost::json;

bool has_substr(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Object git_env(bool suspend = false) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = "Environment";
  o.set_name("shop");
  o.spec()["source"] =
      json::object{{"git", json::object{{"url", "file:///srv/ops.git"}}}, {"suspend", suspend}};
  return o;
}

// `env` after a sync that handled `handled` and left Synced = `status` (reason, message).
Object after_sync(Object env, const std::string& handled, const std::string& status,
                  const std::string& reason, const std::string& message) {
  env.json()["status"] = json::object{
      {"source",
       json::object{{"lastHandledSyncRequest", handled}, {"lastAppliedRevision", "abc123"}}},
      {"conditions",
       json::array{json::object{
           {"type", "Synced"}, {"status", status}, {"reason", reason}, {"message", message}}}}};
  return env;
}

TEST_CASE("sync, suspend and resume take exactly one Environment", "[cli][sync]") {
  CHECK(environment_arg({"env/shop"}, "sync").value() == "shop");
  CHECK(environment_arg({"environment", "shop"}, "sync").value() == "shop");
  CHECK(environment_arg({"environments/shop"}, "sync").value() == "shop");
  auto none = environment_arg({}, "suspend");
  CHECK(none.status().message() == "cenv suspend env/NAME: which Environment?");
  CHECK(has_substr(environment_arg({"svc/web"}, "sync").status().message(),
                   "takes an Environment, not a Service"));
  CHECK_FALSE(environment_arg({"env/a", "env/b"}, "sync").ok());
}

TEST_CASE("suspend patches spec.source.suspend and nothing else, and no source is an error",
          "[cli][sync]") {
  Object env = git_env();
  env.metadata()["labels"] = json::object{{"team", "a"}};
  auto suspended = with_suspend(env, true);
  REQUIRE(suspended.ok());
  CHECK(suspended->spec().at("source").at("suspend") == json::value(true));
  auto resumed = with_suspend(suspended.value(), false);
  REQUIRE(resumed.ok());
  CHECK(resumed.value() == env);

  Object plain = git_env();
  plain.spec().erase("source");
  auto refused = with_suspend(plain, true);
  CHECK(refused.status().code() == Code::kFailedPrecondition);
  CHECK(has_substr(refused.status().message(), "environment/shop has no spec.source"));
}

TEST_CASE("sync --wait: done once its request is handled and Synced is True", "[cli][sync]") {
  Object env = git_env();
  const std::string request = record_sync_request(env, std::chrono::system_clock::from_time_t(0));
  CHECK(request == "1970-01-01T00:00:00.000Z");
  SyncWatch sync(request);
  // Not handled yet: an older request's outcome does not count.
  CHECK(sync.observe(after_sync(env, "", "True", "Applied", "")) == SyncWatch::State::kWaiting);
  CHECK(sync.observe(after_sync(env, "1969-12-31T23:59:59.000Z", "False", "SourceUnavailable",
                                "x")) == SyncWatch::State::kWaiting);
  // Handled, still in progress.
  CHECK(sync.observe(after_sync(env, request, "Unknown", "Progressing", "waiting for svc/web")) ==
        SyncWatch::State::kWaiting);
  CHECK(has_substr(sync.detail(), "waiting for svc/web"));
  CHECK(sync.observe(after_sync(env, request, "True", "Applied", "")) == SyncWatch::State::kDone);
  CHECK(sync.detail() == "abc123");
  // A later request handled handles this one too.
  CHECK(sync.observe(after_sync(env, "1970-01-01T00:00:05.000Z", "True", "Applied", "")) ==
        SyncWatch::State::kDone);
}

TEST_CASE("sync --wait fails on Synced=False, a suspended source, or no source", "[cli][sync]") {
  Object env = git_env();
  const std::string request = record_sync_request(env, std::chrono::system_clock::from_time_t(0));
  SyncWatch sync(request);
  CHECK(sync.observe(after_sync(env, request, "False", "InvalidManifest", "deploy/a.yaml: bad")) ==
        SyncWatch::State::kFailed);
  CHECK(sync.detail() == "InvalidManifest: deploy/a.yaml: bad");
  CHECK(sync.observe(git_env(true)) == SyncWatch::State::kFailed);
  CHECK(has_substr(sync.detail(), "spec.source.suspend is true"));
  Object plain = git_env();
  plain.spec().erase("source");
  CHECK(sync.observe(plain) == SyncWatch::State::kFailed);
  CHECK(has_substr(sync.detail(), "spec.source was removed"));
}

TEST_CASE("record_sync_request changes the annotation even twice in one millisecond",
          "[cli][sync]") {
  Object env = git_env();
  const auto at =
      std::chrono::system_clock::from_time_t(1'800'000'000) + std::chrono::milliseconds(42);
  CHECK(record_sync_request(env, at) == "2027-01-15T08:00:00.042Z");
  CHECK(record_sync_request(env, at) == "2027-01-15T08:00:00.043Z");
  CHECK(string_field(object_field(env.metadata_or_null(), "annotations"),
                     kSyncRequestedAtAnnotation) == "2027-01-15T08:00:00.043Z");
}

}  // namespace
}  // namespace cenv::cli
