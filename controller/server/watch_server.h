#pragma once
// WatchServer: serves every Watch call of a GrpcServer with gRPC's asynchronous API on one
// thread of its own (the serving thread), which owns the completion queue and the WatchStreams.
// That thread starts every write and also polls the connections, so a write's completion comes
// back to it without a thread hand-off: with the callback API each of the 100 watchers' writes
// per event woke one of gRPC's callback threads, which cost the controller more CPU than the
// writes themselves. Other threads reach the serving thread through one grpc::Alarm (wake()):
// the hub's dispatcher after queueing events, the start-up thread after a watch's initial list.
// The initial list and history of a new watch are read on a start-up thread, so a large list
// never holds up the delivery to other watchers. The serving thread also gives quiet watches
// their BOOKMARKs.

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/limits.h"
#include "controller/server/watch_stream.h"

namespace cenv {

class WatchServer {
 public:
  // Asks gRPC for the next Watch call (the generated AsyncService's RequestWatch).
  using Requester = std::function<void(grpc::ServerContext*, ::cenv::v1::WatchRequest*,
                                       grpc::ServerAsyncWriter<::cenv::v1::WatchEvent>*,
                                       grpc::ServerCompletionQueue*, void* tag)>;

  // Starts serving Watch calls from `cq` (added to the server's builder; the server must be
  // started). `api` and `hub` must outlive this object. A client (api/limits.h,
  // kMaxWatchesPerClient) with `max_watches_per_client` watches open gets RESOURCE_EXHAUSTED
  // for one more.
  WatchServer(ApiService& api, WatchHub& hub, WatchStreamOptions options, Requester request,
              std::unique_ptr<grpc::ServerCompletionQueue> cq,
              size_t max_watches_per_client = kMaxWatchesPerClient);
  // stop()s.
  ~WatchServer();
  WatchServer(const WatchServer&) = delete;
  WatchServer& operator=(const WatchServer&) = delete;

  // Ends every open watch with UNAVAILABLE ("the controller is stopping"; a client resumes
  // from its last resourceVersion) and every watch that arrives from now on. Returns at once.
  // Call before grpc::Server::Shutdown, which would otherwise wait for its deadline.
  void end_watches();
  // end_watches(), then returns once the serving thread has drained the completion queue and
  // exited. Call after grpc::Server::Shutdown (the queue must not be shut down before the
  // server). Idempotent.
  void stop();

 private:
  using Op = WatchStream::Op;

  void run();
  // Creates the stream for the next call and asks gRPC for it. Serving thread.
  void request_next();
  // Reads new watches' initial lists (WatchStream::begin), one after the other.
  void run_starter(std::stop_token stop);
  // Counts a call that arrived against its client's watches; false (and the stream is ended
  // with RESOURCE_EXHAUSTED) when the client has the most it may have. Serving thread.
  bool admit(WatchStream* stream);
  // The stream is gone: its client has one watch less. Serving thread.
  void release(WatchStream* stream);

  ApiService& api_;
  WatchHub& hub_;
  const WatchStreamOptions options_;
  const Requester request_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  const std::chrono::milliseconds tick_period_;

  // Where other threads leave streams for the serving thread, and what wakes it. Shared with
  // the streams' wake callbacks, so that a late wake-up (the hub's dispatcher racing with
  // stop()) finds it closed rather than freed.
  struct Mailbox {
    std::mutex mu;
    grpc::ServerCompletionQueue* cq = nullptr;  // guarded by mu; null once it shuts down
    grpc::Alarm alarm;                          // set while armed
    WatchStream::Tag tag{nullptr, Op::kWake};
    bool armed = false;  // guarded by mu
    // Set once, never cleared; read without mu on every completion.
    std::atomic<bool> ending{false};                  // end_watches() called
    std::atomic<bool> stopping{false};                // stop() called
    std::vector<std::shared_ptr<WatchStream>> ready;  // guarded by mu; to pump
    // Makes the serving thread's Next() return the wake tag soon. Requires mu.
    void arm_locked();
  };

  const size_t max_watches_per_client_;

  // Serving thread only:
  std::unordered_map<WatchStream*, std::shared_ptr<WatchStream>> streams_;
  std::unordered_map<WatchStream*, std::string> client_of_;  // the admitted streams' clients
  std::unordered_map<std::string, size_t> watches_of_;       // open watches per client
  grpc::Alarm tick_alarm_;
  WatchStream::Tag tick_tag_{nullptr, Op::kTick};
  bool tick_armed_ = false;

  const std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();

  std::mutex start_mu_;
  std::condition_variable_any start_cv_;
  std::deque<std::shared_ptr<WatchStream>> to_start_;  // guarded by start_mu_

  std::mutex stop_mu_;  // serializes stop()
  std::jthread starter_;
  std::thread thread_;  // the serving thread
};

}  // namespace cenv
