#pragma once
// WatchStream: serves one Watch call (DESIGN section 3) with gRPC's callback API, so that no
// thread sits blocked per watcher. The WatchHub's dispatcher hands the stream new events
// (Subscription on_ready) and the stream writes them one message at a time; each write is
// started by whichever thread finds the stream idle: the dispatcher, gRPC completing the
// previous write, or the bookmark ticker. Thread-safe.

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

struct WatchStreamOptions {
  // A watch with allow_bookmarks gets a BOOKMARK after this long without events (default 5 s).
  std::chrono::milliseconds bookmark_interval{5000};
  // Maps a failed call to the status it ends with (and counts it); empty: to_grpc().
  std::function<grpc::Status(const Status&)> fail;
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
  // An initial ADDED object or a history event, serialized only when it is written.
  struct Pending {
    const char* type;
    Object object;
    int64_t revision;  // > 0: set as the object's resourceVersion
  };

  void begin(const ::cenv::v1::WatchRequest& req);
  // Starts the next write, or Finish, when the stream is idle and has something to do.
  void pump();
  // Fills current_ with the next message; false when there is none. Requires mu_.
  bool next_message_locked();
  void set_bookmark_locked(int64_t revision);
  // Records that the stream must end with `status` (the first reason wins). Requires mu_.
  void end_locked(grpc::Status status);

  ApiService& api_;
  WatchHub& hub_;
  const WatchStreamOptions options_;
  std::string kind_;              // set by begin(), then read-only
  bool allow_bookmarks_ = false;  // set by begin(), then read-only

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
