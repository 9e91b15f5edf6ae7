#pragma once
// The CommandRun state machine (commandrun.h): what each step of a run writes into its
// status. Phases Pending → Running → Succeeded / Failed / Cancelled (Pending again between
// attempts, for the back-off), the conditions Complete, Failed and Ready, attempts,
// exitCode, logBytes, startTime, completionTime, nextAttemptTime, and when a finished run
// expires (ttlSecondsAfterFinished). Pure functions of the object and the time given;
// thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "api/status.h"

namespace cenv {

inline constexpr std::string_view kRunPending = "Pending";
inline constexpr std::string_view kRunRunning = "Running";
inline constexpr std::string_view kRunSucceeded = "Succeeded";
inline constexpr std::string_view kRunFailed = "Failed";
inline constexpr std::string_view kRunCancelled = "Cancelled";

// How one attempt ended, as the state machine records it.
struct AttemptOutcome {
  int exit_code = -1;
  std::string reason;   // for a failure: NonZeroExit, DeadlineExceeded, StartError, ...
  std::string message;  // for a failure: what happened, for the Failed condition
  bool cancelled = false;
  bool detached = false;  // the controller stopped watching; the attempt may go on
  int64_t log_bytes = 0;
  std::string note;  // appended to the messages of the outcome (output lost on a re-attach)
};

// Names the outcome `o` of attempt `number` that ran to its exit code (o.exit_code): Cancelled
// when it was cancelled, DeadlineExceeded when it timed out, NonZeroExit when the code is not
// 0, else a success (no reason); o.note goes after a message.
void name_outcome(AttemptOutcome& o, int number, bool cancelled, bool timed_out);
// The outcome of a command that could not start (`started`, the runtime's error): reason
// StartError, exit code 127 when the command is not found (as `docker run` says it), else 126.
AttemptOutcome start_error(const Status& started);
// The outcome of an attempt whose workload (`what`: "container", "swarm service") could not be
// created (`created`, the runtime's error): reason ImageNotFound for a missing image, else
// CreateError; exit code 125 (as `docker run` says it).
AttemptOutcome creation_failed(const Status& created, std::string_view what);

// The run's status.phase ("" before the first reconcile).
std::string run_phase(const Object& run);
// Whether `phase` is final: Succeeded, Failed or Cancelled.
bool is_final_phase(std::string_view phase);
// status.attempts: the number of the last attempt started (0: none yet).
int run_attempts(const Object& run);

// The delay before the attempt that follows `failed_attempts` failed ones (>= 1):
// base * 2^(failed_attempts - 1), at most `max`.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, int failed_attempts);
// How long a run backing off (Pending, status.nextAttemptTime in the future) still waits;
// nullopt when it does not wait (no nextAttemptTime, the time has come, or it is Running).
std::optional<std::chrono::milliseconds> backoff_left(const Object& run,
                                                      std::chrono::system_clock::time_point now);
// When a finished run is deleted: completionTime + spec.ttlSecondsAfterFinished; nullopt
// without either.
std::optional<std::chrono::system_clock::time_point> ttl_deadline(const Object& run);

// Pending: it waits (for its image, Service, Module or Environment), saying why in Ready.
void mark_waiting(Object& run, std::string_view message, std::chrono::system_clock::time_point now);
// Failed before any attempt, because it can never run (`why`: NotFound → reason
// ServiceNotFound, otherwise InvalidSpec).
void mark_unrunnable(Object& run, const Status& why, std::chrono::system_clock::time_point now);
// Running attempt `number` (attempts, startTime of the first one, Ready reason Running);
// `note` is appended to its message.
void mark_running(Object& run, int number, std::chrono::system_clock::time_point now,
                  std::string_view note = {});
// Records attempt `number` ending with `o`: Succeeded; Pending until nextAttemptTime when
// retries are left (spec.backoffLimit) and it was not cancelled, returning the back-off delay
// (backoff_delay with base and max); Failed or Cancelled otherwise. nullopt when the run is
// finished.
std::optional<std::chrono::milliseconds> mark_outcome(Object& run, int number,
                                                      const AttemptOutcome& o,
                                                      std::chrono::milliseconds base,
                                                      std::chrono::milliseconds max,
                                                      std::chrono::system_clock::time_point now);
// Cancelled: deleted while it ran.
void mark_cancelled(Object& run, std::chrono::system_clock::time_point now);

// RFC 3339 with milliseconds (format_rfc3339 keeps whole seconds; back-off delays may be
// shorter), and its parser (false on bad input).
std::string format_time_ms(std::chrono::system_clock::time_point t);
bool parse_time_ms(std::string_view text, std::chrono::system_clock::time_point* out);
// "200ms", "10s", "6m", "1m30s": a delay as a person reads it.
std::string format_delay(std::chrono::milliseconds d);

}  // namespace cenv
