#pragma once
// The dashboard's event streams (dashboard.h): a watch of some kinds, or a run's output, sent to
// one client either as server-sent events (a plain GET, for curl) or as WebSocket messages (what
// the page uses: browsers allow only six HTTP/1.1 connections per host, which six open
// server-sent event streams would take for every tab of the dashboard). Each stream lives on
// the HTTP server's io thread; other threads reach it only through a StreamWaker.
//
// A WebSocket message is a JSON array of events, [{"event": TYPE, "id": ID, "data": {...}}, ...]
// (an empty array is a heartbeat); a server-sent event is "event: TYPE", "id: ID",
// "data: {...}". Events: "change" {type, object}, "ready" (the history is sent), "gone" {error}
// (the watch cannot go on: list again), "log" {stream, offset, next, data}, "end" {phase,
// exitCode}, "eof", "failure" {error}.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "controller/server/dashboard_api.h"
#include "controller/server/logs_service.h"
#include "controller/server/watch_hub.h"

namespace cenv {

// One event of a stream; `data` is JSON text.
struct StreamEvent {
  std::string type;
  std::string data;
  std::string id;  // may be empty
};

// Posts work to the io thread until disable(); thread-safe.
class StreamWaker {
 public:
  void post(const boost::asio::any_io_executor& exec, std::function<void()> fn);
  // Nothing is posted afterwards (the io_context may go).
  void disable();

 private:
  std::mutex mu_;
  bool alive_ = true;  // guarded by mu_
};

// What a log stream's reader thread hands to its stream, bounded: the reader waits while the
// client is `limit` bytes behind. Thread-safe.
class LogPipe {
 public:
  explicit LogPipe(size_t limit) : limit_(limit) {}
  // Set before the reader starts: asks the stream to take what is queued.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }
  // Queues `e` once the client is less than the limit behind; false once cancelled.
  bool push(StreamEvent e);
  // The reader is done: nothing more comes.
  void close();
  // The events queued (emptied); `done` says whether the reader has closed the pipe.
  std::deque<StreamEvent> take(bool& done);
  // The stream is gone: push() returns false from now on.
  void cancel();
  bool cancelled();
  // The reader thread has returned (its thread can be joined).
  void set_finished();
  bool finished();

 private:
  std::mutex mu_;
  std::condition_variable space_;
  const size_t limit_;
  std::function<void()> wake_;
  std::deque<StreamEvent> events_;  // guarded by mu_
  size_t bytes_ = 0;                // guarded by mu_
  bool done_ = false;               // guarded by mu_
  bool cancelled_ = false;          // guarded by mu_
  bool finished_ = false;           // guarded by mu_
};

// How a stream starts: its connection, the request that asked for it, its bounds.
struct StreamSetup {
  boost::asio::ip::tcp::socket socket;
  boost::beast::http::request<boost::beast::http::string_body> request;
  size_t limit = 0;  // bytes queued for the client before a watch drops it
  std::chrono::milliseconds heartbeat{15000};
  std::shared_ptr<void> slot;  // held while the stream lives (counts open streams)
  std::shared_ptr<StreamWaker> waker;
};

// Starts a watch stream of `query` after revision `after`; counts a client dropped for falling
// behind in `dropped`. Call on the io thread.
void start_watch_stream(StreamSetup setup, WatchHub& hub, DashboardQuery query, int64_t after,
                        std::shared_ptr<std::atomic<size_t>> dropped);
// Starts a stream of what `pipe` receives. Call on the io thread.
void start_log_stream(StreamSetup setup, std::shared_ptr<LogPipe> pipe);

// A frame of a Logs stream as an event: "log" {stream, offset, next, data} (data made valid
// UTF-8), or "end" {phase, exitCode} for the last frame of a run.
StreamEvent log_frame_event(const LogFrame& frame);

// Whether a WebSocket request's Origin may open a stream: none (not a browser), or the page's
// own origin, http(s)://HOST with HOST as the request's Host.
bool websocket_origin_allowed(std::string_view origin, std::string_view host);

}  // namespace cenv
