#pragma once
// WatchStream: serves one Watch call (DESIGN section 3) with gRPC's asynchronous
// (completion-queue) API. A WatchServer owns the streams and their completion queue: every
// Write and Finish of a stream is started on the WatchServer's thread, which also polls the
// connections and so gets the write completions without a thread hand-off. Other threads (the
// WatchHub's dispatcher when events are queued, the start-up thread once the initial list is
// read) only ask that thread to pump the stream (the `wake` callback). When the client set
// allow_batches, every event waiting at that moment goes into the one message
// (WatchEvent.more, in order, capped below), so a watcher that fell behind catches up with one
// write and one Read() instead of one per event.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/kinds.h"
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
  // Maps a failed call to the status it ends with (and counts it); gets the time the call
  // arrived. Empty: to_grpc().
  std::function<grpc::Status(const Status&, std::chrono::steady_clock::time_point)> fail;
  // What of a watch of objects of `kind` in `ns` ("" for all) the caller may see
  // (CallGate::admit and may_read): an error ends the stream; an empty function means
  // everything. Empty: always everything.
  using Visible = std::function<bool(const Object&)>;
  std::function<Result<Visible>(const grpc::ServerContext&, const KindInfo& kind,
                                const std::string& ns)>
      admit;
  // At most this many events in one message of a batching watch (default 256).
  size_t max_batch_events = 256;
  // A batch stops before the event that would take it past this many bytes of JSON; its first
  // event is sent whatever its size (default 1 MiB).
  size_t max_batch_bytes = size_t{1} << 20;
};

class WatchStream final : public std::enable_shared_from_this<WatchStream> {
 public:
  // What a completion-queue tag stands for: one of a stream's operations, or (with a null
  // stream) one of the WatchServer's own signals.
  enum class Op { kRequested, kWrite, kFinish, kDone, kWake, kTick };
  struct Tag {
    WatchStream* stream;
    Op op;
  };

  // `wake` asks the serving thread to call pump() soon; called from any thread, never under
  // this stream's lock. `api` and `hub` must outlive the stream.
  WatchStream(ApiService& api, WatchHub& hub, WatchStreamOptions options,
              std::function<void(std::shared_ptr<WatchStream>)> wake);
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // For WatchServer's RequestWatch and AsyncNotifyWhenDone.
  grpc::ServerContext& context() { return ctx_; }
  ::cenv::v1::WatchRequest& request() { return req_; }
  grpc::ServerAsyncWriter<::cenv::v1::WatchEvent>& writer() { return writer_; }
  void* tag(Op op);

  // The call arrived (its request is in request()). Serving thread, once.
  void matched();
  // Checks the request, reads the initial list (when the request asks for it), then
  // subscribes to the hub from there (WatchHub::subscribe_from, which replays the history up
  // to the subscription) and queues them; on a bad request or a failed read the stream ends
  // with that error. Slow (reads the store): call on a thread other than the serving one,
  // after matched(). Wakes the stream when done.
  void begin();

  // The rest runs on the serving thread only.
  // Starts the next Write, or Finish, when nothing is in flight and there is something to do.
  void pump();
  // Queues a BOOKMARK when the watch asked for them and has been quiet for the bookmark
  // interval, then pumps.
  void tick(std::chrono::steady_clock::time_point now);
  void on_write_done(bool ok);
  void on_finish_done();
  // The call is over (finished or cancelled): AsyncNotifyWhenDone's tag.
  void on_call_done();
  // Ends the stream with `status` (OK when the client went away, UNAVAILABLE when the server
  // stops): what is queued is dropped, Finish follows.
  void end(grpc::Status status);
  // The call finished and nothing of it is in flight any more: the stream can be destroyed.
  bool complete() const { return finish_done_ && call_done_; }
  // Its RequestWatch completed without a call (the server is shutting down). Such a stream is
  // never complete(): it is destroyed once the completion queue is drained.
  void set_never_matched() { never_matched_ = true; }
  bool never_matched() const { return never_matched_; }

 private:
  // An initial ADDED object, a history event or the BOOKMARK after the list, serialized only
  // when it is written.
  struct Pending {
    const char* type;
    Object object;
    int64_t revision;  // > 0: set as the object's resourceVersion (BOOKMARK: its revision)
    std::string json;  // the serialized event once computed (it did not fit in a batch)
  };

  // Fills current_ with the next message: one event, or with batches_ every waiting event up
  // to the caps; false when there is none. Requires mu_.
  bool next_message_locked();
  std::string bookmark_json(int64_t revision) const;
  // Records that the stream must end with `status` (the first reason wins). Requires mu_.
  void end_locked(grpc::Status status);
  grpc::Status failed(const Status& s) const;

  ApiService& api_;
  WatchHub& hub_;
  const WatchStreamOptions options_;
  const std::function<void(std::shared_ptr<WatchStream>)> wake_;
  grpc::ServerContext ctx_;
  ::cenv::v1::WatchRequest req_;  // filled by RequestWatch, then read-only
  grpc::ServerAsyncWriter<::cenv::v1::WatchEvent> writer_{&ctx_};
  Tag requested_tag_{this, Op::kRequested};
  Tag write_tag_{this, Op::kWrite};
  Tag finish_tag_{this, Op::kFinish};
  Tag done_tag_{this, Op::kDone};
  std::chrono::steady_clock::time_point arrived_;  // set by matched(), then read-only
  std::string kind_;                               // set by begin(), then read-only
  WatchStreamOptions::Visible visible_;            // set by begin(), then read-only; empty: all
  bool allow_bookmarks_ = false;                   // set by begin(), then read-only
  bool batches_ = false;                           // set by begin(), then read-only: allow_batches

  mutable std::mutex mu_;
  std::shared_ptr<WatchHub::Subscription> sub_;               // guarded by mu_
  bool started_ = false;                                      // guarded by mu_; backlog ready
  std::deque<Pending> backlog_;                               // guarded by mu_
  std::deque<std::shared_ptr<const SharedWatchEvent>> live_;  // guarded by mu_
  int64_t last_ = 0;           // guarded by mu_; revision of the last event queued
  bool bookmark_due_ = false;  // guarded by mu_
  std::chrono::steady_clock::time_point quiet_since_;  // guarded by mu_
  bool ending_ = false;                                // guarded by mu_; end_status_ is set
  grpc::Status end_status_;                            // guarded by mu_
  // Serving thread only:
  bool matched_ = false;            // the call arrived
  bool writing_ = false;            // a Write awaits its completion
  bool finishing_ = false;          // Finish was called
  bool finish_done_ = false;        // ... and completed
  bool call_done_ = false;          // AsyncNotifyWhenDone's tag arrived
  bool never_matched_ = false;      // RequestWatch ended without a call
  ::cenv::v1::WatchEvent current_;  // the message being written
};

}  // namespace cenv
