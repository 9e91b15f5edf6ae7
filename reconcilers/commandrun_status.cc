#include "reconcilers/commandrun_status.h"

#include <cctype>
#include <cstdio>

#include "api/clock.h"
#include "api/conditions.h"
#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

namespace {

// The three conditions of a finished run that did not succeed.
void set_failed_conditions(Object& run, std::string_view reason, std::string_view message,
                           std::chrono::system_clock::time_point now) {
  const int64_t gen = run.generation();
  set_condition(run, "Failed", kConditionTrue, reason, message, gen, now);
  set_condition(run, "Complete", kConditionFalse, reason, message, gen, now);
  set_condition(run, "Ready", kConditionFalse, reason, message, gen, now);
}

}  // namespace

void name_outcome(AttemptOutcome& o, int number, bool cancelled, bool timed_out) {
  if (cancelled) {
    o.cancelled = true;
    o.reason = "Cancelled";
    o.message = "the CommandRun was deleted while it ran";
  } else if (timed_out) {
    o.reason = "DeadlineExceeded";
    o.message = "attempt " + std::to_string(number) + " ran longer than timeoutSeconds";
  } else if (o.exit_code != 0) {
    o.reason = "NonZeroExit";
    o.message =
        "attempt " + std::to_string(number) + " exited with code " + std::to_string(o.exit_code);
  }
  if (!o.message.empty()) o.message += o.note;
}

AttemptOutcome creation_failed(const Status& created, std::string_view what) {
  AttemptOutcome o;
  o.reason = created.code() == Code::kNotFound ? "ImageNotFound" : "CreateError";
  o.message = "cannot create the " + std::string(what) + ": " + created.message();
  o.exit_code = 125;
  return o;
}

AttemptOutcome start_error(const Status& started) {
  AttemptOutcome o;
  o.reason = "StartError";
  o.message = "cannot start the command: " + started.message();
  const std::string& m = started.message();
  o.exit_code =
      m.find("not found") != std::string::npos || m.find("no such file") != std::string::npos ? 127
                                                                                              : 126;
  return o;
}

std::string run_phase(const Object& run) {
  return std::string(string_field(run.status_or_null(), "phase"));
}

bool is_final_phase(std::string_view phase) {
  return phase == kRunSucceeded || phase == kRunFailed || phase == kRunCancelled;
}

int run_attempts(const Object& run) {
  return static_cast<int>(int64_field(run.status_or_null(), "attempts").value_or(0));
}

std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, int failed_attempts) {
  std::chrono::milliseconds d = base;
  for (int i = 1; i < failed_attempts && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::optional<std::chrono::milliseconds> backoff_left(const Object& run,
                                                      std::chrono::system_clock::time_point now) {
  std::chrono::system_clock::time_point next;
  if (run_phase(run) == kRunRunning ||
      !parse_time_ms(string_field(run.status_or_null(), "nextAttemptTime"), &next) || now >= next) {
    return std::nullopt;
  }
  return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

std::optional<std::chrono::system_clock::time_point> ttl_deadline(const Object& run) {
  auto ttl = int64_field(run.spec_or_null(), "ttlSecondsAfterFinished");
  if (!ttl) return std::nullopt;
  std::chrono::system_clock::time_point completed;
  if (!parse_rfc3339(string_field(run.status_or_null(), "completionTime"), &completed)) {
    return std::nullopt;
  }
  return completed + std::chrono::seconds(*ttl);
}

void mark_waiting(Object& run, std::string_view message,
                  std::chrono::system_clock::time_point now) {
  run.status()["phase"] = std::string(kRunPending);
  set_condition(run, "Ready", kConditionFalse, "Waiting", message, run.generation(), now);
}

void mark_unrunnable(Object& run, const Status& why, std::chrono::system_clock::time_point now) {
  json::object& status = run.status();
  status["phase"] = std::string(kRunFailed);
  status["completionTime"] = format_rfc3339(now);
  const std::string reason = why.code() == Code::kNotFound ? "ServiceNotFound" : "InvalidSpec";
  set_failed_conditions(run, reason, why.message(), now);
}

void mark_running(Object& run, int number, std::chrono::system_clock::time_point now,
                  std::string_view note) {
  json::object& status = run.status();
  status["phase"] = std::string(kRunRunning);
  status["attempts"] = number;
  if (!status.contains("startTime")) status["startTime"] = format_rfc3339(now);
  set_condition(run, "Ready", kConditionFalse, "Running",
                "attempt " + std::to_string(number) + " is running" + std::string(note),
                run.generation(), now);
}

std::optional<std::chrono::milliseconds> mark_outcome(Object& run, int number,
                                                      const AttemptOutcome& o,
                                                      std::chrono::milliseconds base,
                                                      std::chrono::milliseconds max,
                                                      std::chrono::system_clock::time_point now) {
  const int64_t gen = run.generation();
  json::object& status = run.status();
  status["exitCode"] = o.exit_code;
  status["logBytes"] = o.log_bytes;
  status.erase("exec");
  if (o.reason.empty()) {
    status["phase"] = std::string(kRunSucceeded);
    status["completionTime"] = format_rfc3339(now);
    const std::string msg = "attempt " + std::to_string(number) + " exited with code 0" + o.note;
    set_condition(run, "Complete", kConditionTrue, "Succeeded", msg, gen, now);
    set_condition(run, "Failed", kConditionFalse, "Succeeded", msg, gen, now);
    set_condition(run, "Ready", kConditionTrue, "Succeeded", msg, gen, now);
    return std::nullopt;
  }
  if (!o.cancelled && number <= int64_field(run.spec_or_null(), "backoffLimit").value_or(0)) {
    // Back-off, as a Kubernetes Job: Pending until nextAttemptTime, then the next attempt
    // (a restart in between keeps the time).
    const auto delay = backoff_delay(base, max, number);
    const std::string msg =
        o.message + "; attempt " + std::to_string(number + 1) + " starts in " + format_delay(delay);
    status["phase"] = std::string(kRunPending);
    status["nextAttemptTime"] = format_time_ms(now + delay);
    set_condition(run, "Ready", kConditionFalse, "BackOff", msg, gen, now);
    return delay;
  }
  status["phase"] = std::string(o.cancelled ? kRunCancelled : kRunFailed);
  status["completionTime"] = format_rfc3339(now);
  set_failed_conditions(run, o.reason, o.message, now);
  return std::nullopt;
}

void mark_cancelled(Object& run, std::chrono::system_clock::time_point now) {
  run.status()["phase"] = std::string(kRunCancelled);
  run.status()["completionTime"] = format_rfc3339(now);
  set_failed_conditions(run, "Cancelled", "the CommandRun was deleted while it ran", now);
}

std::string format_time_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto whole = std::chrono::system_clock::time_point(std::chrono::seconds(ms / 1000));
  std::string text = format_rfc3339(whole);  // ...Z
  char frac[8];
  snprintf(frac, sizeof frac, ".%03lldZ", static_cast<long long>(ms % 1000));
  text.pop_back();
  return text + frac;
}

bool parse_time_ms(std::string_view text, std::chrono::system_clock::time_point* out) {
  if (!parse_rfc3339(text, out)) return false;
  // parse_rfc3339 ignores a fraction of a second: add its milliseconds.
  if (text.size() > 20 && text[19] == '.') {
    int ms = 0, digits = 0;
    for (size_t i = 20;
         i < text.size() && digits < 3 && isdigit(static_cast<unsigned char>(text[i]));
         ++i, ++digits) {
      ms = ms * 10 + (text[i] - '0');
    }
    for (; digits < 3; ++digits) ms *= 10;
    *out += std::chrono::milliseconds(ms);
  }
  return true;
}

std::string format_delay(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto secs = (ms + 999) / 1000;
  if (secs < 60) return std::to_string(secs) + "s";
  std::string out = std::to_string(secs / 60) + "m";
  if (secs % 60) out += std::to_string(secs % 60) + "s";
  return out;
}

}  // namespace cenv
