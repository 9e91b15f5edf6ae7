// commandrun_status: the CommandRun state machine as pure transitions of the object.

#include "reconcilers/commandrun_status.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/clock.h"
#include "api/conditions.h"

namespace cenv {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Object run_with(std::string_view spec_json) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = "CommandRun";
  o.set_name("t");
  o.set_ns("dev");
  o.json()["spec"] = boost::json::parse(spec_json);
  return o;
}

std::string status_string(const Object& o, std::string_view key) {
  return std::string(Object::str_field(*o.status_or_null(), key));
}

TEST_CASE("commandrun_status: an attempt's outcome decides the phase, conditions and back-off",
          "[reconcilers][commandrun]") {
  const auto now = std::chrono::system_clock::from_time_t(1'800'000'000);
  struct Row {
    std::string name;
    std::string spec;
    int number;
    AttemptOutcome outcome;
    std::string phase;
    std::optional<milliseconds> backoff;
    std::string ready_reason;
    std::string ready_message;
  };
  AttemptOutcome ok;
  ok.exit_code = 0;
  AttemptOutcome failed;
  failed.exit_code = 3;
  failed.reason = "NonZeroExit";
  failed.message = "attempt 1 exited with code 3";
  AttemptOutcome failed_again = failed;
  failed_again.message = "attempt 3 exited with code 3";
  AttemptOutcome cancelled = failed;
  cancelled.cancelled = true;
  cancelled.reason = "Cancelled";
  cancelled.message = "the CommandRun was deleted while it ran";
  const std::vector<Row> rows = {
      {"success", "{}", 1, ok, "Succeeded", std::nullopt, "Succeeded",
       "attempt 1 exited with code 0"},
      {"failure without retries", "{}", 1, failed, "Failed", std::nullopt, "NonZeroExit",
       "attempt 1 exited with code 3"},
      {"failure with a retry left", R"({"backoffLimit": 1})", 1, failed, "Pending",
       milliseconds(100), "BackOff", "attempt 1 exited with code 3; attempt 2 starts in 100ms"},
      {"the back-off doubles", R"({"backoffLimit": 5})", 3, failed_again, "Pending",
       milliseconds(400), "BackOff", "attempt 3 exited with code 3; attempt 4 starts in 400ms"},
      {"retries spent", R"({"backoffLimit": 1})", 2, failed, "Failed", std::nullopt, "NonZeroExit",
       "attempt 1 exited with code 3"},
      {"cancelled is never retried", R"({"backoffLimit": 5})", 1, cancelled, "Cancelled",
       std::nullopt, "Cancelled", "the CommandRun was deleted while it ran"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Object run = run_with(row.spec);
    mark_running(run, row.number, now);
    CHECK(run_phase(run) == "Running");
    CHECK(run_attempts(run) == row.number);
    auto backoff = mark_outcome(run, row.number, row.outcome, milliseconds(100), seconds(1), now);
    CHECK(backoff == row.backoff);
    CHECK(run_phase(run) == row.phase);
    CHECK(is_final_phase(run_phase(run)) == !row.backoff);
    auto ready = get_condition(run, "Ready");
    REQUIRE(ready);
    CHECK(ready->reason == row.ready_reason);
    CHECK(ready->message == row.ready_message);
    if (row.backoff) {
      CHECK(backoff_left(run, now) == row.backoff);
      CHECK_FALSE(backoff_left(run, now + *row.backoff));
      CHECK_FALSE(run.status().contains("completionTime"));
    } else {
      CHECK(status_string(run, "completionTime") == format_rfc3339(now));
      CHECK(is_condition_true(run, "Complete") == (row.phase == "Succeeded"));
      CHECK(is_condition_true(run, "Failed") == (row.phase != "Succeeded"));
    }
  }
}

TEST_CASE("commandrun_status: waiting, unrunnable, cancelled and the ttl",
          "[reconcilers][commandrun]") {
  const auto now = std::chrono::system_clock::from_time_t(1'800'000'000);
  Object run = run_with(R"({"ttlSecondsAfterFinished": 30})");
  mark_waiting(run, "waiting for Module \"py\"", now);
  CHECK(run_phase(run) == "Pending");
  CHECK(get_condition(run, "Ready")->reason == "Waiting");
  CHECK_FALSE(ttl_deadline(run));  // not finished

  Object unrunnable = run;
  mark_unrunnable(unrunnable, Status::NotFound("spec.service: no such Service"), now);
  CHECK(run_phase(unrunnable) == "Failed");
  CHECK(get_condition(unrunnable, "Failed")->reason == "ServiceNotFound");
  CHECK(ttl_deadline(unrunnable) == now + seconds(30));
  mark_unrunnable(unrunnable, Status::Invalid("spec.command: Required value"), now);
  CHECK(get_condition(unrunnable, "Failed")->reason == "InvalidSpec");

  mark_cancelled(run, now);
  CHECK(run_phase(run) == "Cancelled");
  CHECK(get_condition(run, "Failed")->reason == "Cancelled");
  CHECK_FALSE(ttl_deadline(run_with("{}")));
}

TEST_CASE("commandrun_status: times with milliseconds and delays as people read them",
          "[reconcilers][commandrun]") {
  const auto t = std::chrono::system_clock::from_time_t(1'800'000'000) + milliseconds(42);
  std::string text = format_time_ms(t);
  CHECK(text.ends_with(".042Z"));
  std::chrono::system_clock::time_point back;
  REQUIRE(parse_time_ms(text, &back));
  CHECK(back == t);
  CHECK_FALSE(parse_time_ms("soon", &back));
  CHECK(format_delay(milliseconds(200)) == "200ms");
  CHECK(format_delay(seconds(10)) == "10s");
  CHECK(format_delay(seconds(360)) == "6m");
  CHECK(format_delay(seconds(90)) == "1m30s");
}

}  // namespace
}  // namespace cenv
