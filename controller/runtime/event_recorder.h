#pragma once
// EventRecorder: writes Event objects (crds/event.yaml) about other objects, as Kubernetes'
// record.EventRecorder does for controllers. Recording an event never fails its caller: a
// failed write is logged and dropped, because an event is a hint for humans, not state.
//
// Aggregation: an event is identified by its object (uid), type, reason, message, source and
// user;
// recording it again raises `count` and moves `lastTimestamp` on the same Event object (its
// name is derived from that identity, so aggregation survives controller restarts).
// Bounds: events whose lastTimestamp is older than `ttl` are deleted by expire() (run by
// the recorder's sweeper thread and, at most once per sweep interval, by record()); at most
// `max_per_object` events are kept per object, the oldest go first. Events about
// cluster-scoped objects (Environments) are written to the namespace "default".
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include "api/clock.h"
#include "api/object.h"
#include "controller/runtime/client.h"

namespace cenv {

// Event.type values (Kubernetes calls the field "type").
enum class EventSeverity { kNormal, kWarning };

// The label carrying the involved object's uid on every recorded Event, so that the events of
// one object are listed by selector.
inline constexpr std::string_view kEventInvolvedUidLabel = "events.cenv.io/involved-uid";

struct EventRecorderOptions {
  // source.component and reportingController of the events. Default "cenv-controller".
  std::string component = "cenv-controller";
  // How long an event is kept after it last happened. Default 1 hour.
  std::chrono::seconds ttl{3600};
  // Most events kept per involved object; the least recently seen go first. Default 50.
  size_t max_per_object = 50;
  // How often the sweeper thread deletes expired events; zero: no sweeper thread (record()
  // still sweeps at most once per this interval when it is non-zero). Default 60 s.
  std::chrono::seconds sweep_interval{60};
};

class EventRecorder {
 public:
  // `client` and `clock` must outlive the recorder. Starts the sweeper thread unless
  // options.sweep_interval is zero.
  EventRecorder(Client& client, const Clock& clock, EventRecorderOptions options = {});
  ~EventRecorder();  // stops and joins the sweeper
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records that `reason` (CamelCase, e.g. "FinalizersPending") happened to `object` (as
  // stored: its uid tells it apart from an earlier object of the same name), with a message
  // for humans. Creates the Event or raises the count of the identical one. Never fails:
  // errors (a namespace gone, the store down) are logged at debug level and dropped. Events
  // about Events are not recorded. `user`: whose write the event records (the Event's `user`
  // field); empty for what the controller itself reports.
  void record(const Object& object, EventSeverity type, std::string_view reason,
              std::string_view message, std::string_view user = {});

  // Deletes every Event whose lastTimestamp is older than options.ttl; returns how many
  // were deleted (errors are logged, and what failed is left for the next sweep).
  size_t expire();

  // The name of the Event recording this identity: "<object name>-<hash>", at most 63
  // characters. Exposed for tests.
  static std::string event_name(const Object& object, std::string_view type,
                                std::string_view reason, std::string_view message,
                                std::string_view component, std::string_view user = {});

 private:
  Status write(const Object& object, std::string_view type, std::string_view reason,
               std::string_view message, std::string_view user);
  // Deletes the least recently seen events of `uid` in `ns` beyond max_per_object.
  void trim(const std::string& ns, std::string_view uid);
  void maybe_expire();
  void sweep_loop(std::stop_token stop);

  Client& client_;
  const Clock& clock_;
  const EventRecorderOptions options_;
  // Steady-clock nanoseconds of the last expire() started by record().
  std::atomic<int64_t> last_sweep_{0};
  std::mutex mu_;
  std::condition_variable_any wake_;  // sweeper's sleep, guarded by mu_
  std::jthread sweeper_;              // last member: stopped and joined first
};

}  // namespace cenv
