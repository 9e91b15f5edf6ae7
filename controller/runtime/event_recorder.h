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
// `max_per_object` events are kept per object, the oldest go first. The recorder counts the
// events of each object (one listing of all Events when first needed, again at each expire(),
// then one more per Event it creates), so that it lists an object's events only when that
// object has too many: recording stays cheap however many Events there are. Events about
// cluster-scoped objects (Environments) are written to the namespace "default".
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

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
  // Most events record_soon() holds for its writer thread; past that they are dropped
  // (logged). Default 20000.
  size_t queue_capacity = 20000;
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

  // record(), done by the recorder's writer thread, in order: returns at once, for callers that
  // must not wait on the store (the API's write path: a large apply tells one event per
  // object). Keeps only what identifies `object` (kind, namespace, name, uid, version). When
  // options.queue_capacity events already wait, this one is dropped and logged.
  void record_soon(const Object& object, EventSeverity type, std::string_view reason,
                   std::string_view message, std::string_view user = {});
  // Returns once every event queued by record_soon() before the call is written (or dropped).
  void flush();

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
  // Counts an Event just created about `uid`; whether `uid` may now have more than
  // max_per_object (then trim it).
  bool count_created(std::string_view uid);
  // counts_ from `events` (every Event stored). Under counts_mu_.
  void recount(const std::vector<Object>& events);
  void maybe_expire();
  void sweep_loop(std::stop_token stop);
  // Writes what record_soon() queued until stopped with nothing left.
  void write_loop(std::stop_token stop);

  struct Queued {
    Object object;  // what identifies it only
    EventSeverity type;
    std::string reason, message, user;
  };

  Client& client_;
  const Clock& clock_;
  const EventRecorderOptions options_;
  // Steady-clock nanoseconds of the last expire() started by record().
  std::atomic<int64_t> last_sweep_{0};
  std::mutex counts_mu_;
  // Events per involved uid as far as this recorder knows (too many, at worst: others delete
  // Events too); guarded by counts_mu_, loaded when counts_loaded_.
  std::unordered_map<std::string, size_t> counts_;
  bool counts_loaded_ = false;  // guarded by counts_mu_
  std::mutex mu_;
  std::condition_variable_any wake_;  // sweeper's sleep, guarded by mu_
  std::mutex queue_mu_;
  std::condition_variable_any queued_;  // signalled on a push and on a written batch
  std::deque<Queued> queue_;            // guarded by queue_mu_
  uint64_t pushed_ = 0, written_ = 0;   // events queued and taken off; guarded by queue_mu_
  size_t dropped_ = 0;                  // guarded by queue_mu_
  std::jthread writer_;                 // stopped (after writing what waits) after the sweeper
  std::jthread sweeper_;                // last member: stopped and joined first
};

}  // namespace cenv
