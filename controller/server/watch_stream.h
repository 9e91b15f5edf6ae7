#pragma once
// WatchStream: serves one Watch call (DESIGN section 3) with gRPC's callback API, so that no
// thread sits blocked per watcher. The WatchHub's dispatcher hands the stream new events
// (Subscription on_ready) and the stream writes them; each write is started by whichever
// thread finds the stream idle: the dispatcher, gRPC completing the previous write, or the
// bookmark ticker. When the client set allow_batches, every event waiting at that moment goes
// into the one message (WatchEvent.more, in order, capped below), so a watcher that fell behind
// catches up with one write and one Read() instead of one per event. Thread-safe.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/status.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "controller/server/api_service.h"
#include "controller/server/watch_hub.h"

namespace cenv {

// A request's resourceVersion: 0 when empty, -1 when not a non-negative integer.
int64_t parse_resource_version(const std::string& s);

struct WatchStreamOptions {
  // A watch with allow_bookmarks gets a BOOKMARK after this long without events (default 5 s).
  std::chrono::milliseconds bookmark_interval{5000};
  // Maps a failed call to the status it ends with (and counts it); empty: to_grpc().
  std::function<grpc::Status(const Status&)> fail;
  // At most this many events in one message of a batching watch (default 256).
  size_t max_batch_events = 256;
  // A batch stops before the event that would take it past this many bytes of JSON; its first
  // event is sent whatever its size (default 1 MiB).
  size_t max_batch_bytes = size_t{1} << 20;
};

class WatchStream final : public grpc::ServerWriteReactor<::cenv::v1::WatchEvent>,
                          public std::enable_shared_from_this<WatchStream> {
 public:
  // Starts serving `req`: checks it, subscribes to `hub`, then reads the initial list and the
  // store's history up to the subscription on the calling thread and queues them. On a bad
  // request or a failed read the stream finishes with that error. Never returns null; the
  // stream keeps itself alive until gRPC calls OnDone. `api` and `hub` must outlive it.
  static std::shared_ptr<WatchStream> start(ApiService& api, WatchHub& hub,
                                            const ::cenv::v1::WatchRequest& req,
                                            WatchStreamOptions options);

  // Queues a BOOKMARK when the watch asked for them and has been quiet for the bookmark
  // interval. Call periodically (every interval / 4 or so). Thread-safe; never blocks on I/O.
  void tick(std::chrono::steady_clock::time_point now);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Use start().
  WatchStream(ApiService& api, WatchHub& hub, WatchStreamOptions options);

 private:
  // An initial ADDED object, a history event or the BOOKMARK after the list, serialized only
  // when it is written.
  struct Pending {
    const char* type;
    Object object;
    int64_t revision;  // > 0: set as the object's resourceVersion (BOOKMARK: its revision)
    std::string json;  // the serialized event once computed (it did not fit in a batch)
  };

  void begin(const ::cenv::v1::WatchRequest& req);
  // Starts the next write, or Finish, when the stream is idle and has something to do.
  void pump();
  // Fills current_ with the next message: one event, or with batches_ every waiting event up
  // to the caps; false when there is none. Requires mu_.
  bool next_message_locked();
  std::string bookmark_json(int64_t revision) const;
  // Records that the stream must end with `status` (the first reason wins). Requires mu_.
  void end_locked(grpc::Status status);

  ApiService& api_;
  WatchHub& hub_;
  const WatchStreamOptions options_;
  std::string kind_;              // set by begin(), then read-only
  bool allow_bookmarks_ = false;  // set by begin(), then read-only
  bool batches_ = false;          // set by begin(), then read-only: allow_batches

  std::mutex mu_;
  std::shared_ptr<WatchStream> self_;                         // guarded by mu_; until OnDone
  std::shared_ptr<WatchHub::Subscription> sub_;               // guarded by mu_
  bool started_ = false;                                      // guarded by mu_; backlog ready
  std::deque<Pending> backlog_;                               // guarded by mu_
  std::deque<std::shared_ptr<const SharedWatchEvent>> live_;  // guarded by mu_
  int64_t last_ = 0;           // guarded by mu_; revision of the last event queued
  bool writing_ = false;       // guarded by mu_; a StartWrite awaits OnWriteDone
  bool bookmark_due_ = false;  // guarded by mu_
  std::chrono::steady_clock::time_point quiet_since_;  // guarded by mu_
  bool ending_ = false;                                // guarded by mu_; end_status_ is set
  bool finished_ = false;                              // guarded by mu_; Finish was called
  grpc::Status end_status_;                            // guarded by mu_
  // The message being written; only touched by the thread that set writing_.
  ::cenv::v1::WatchEvent current_;
};

}  // namespace cenv
