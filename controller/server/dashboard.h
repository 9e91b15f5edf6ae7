#pragma once
// Dashboard: the read-only web UI the HTTP server serves under /ui/ (issue 14).
//   GET /ui/                 the page (index.html) and its files, compiled in (dashboard_assets.h)
//   GET /ui/api/list         objects as JSON, with the revision to watch from (DashboardApi)
//   GET /ui/api/object       one object as JSON
//   GET /ui/api/watch        the WatchHub's events of some kinds from a resourceVersion (history
//                            first, so nothing is missed after a list)
//   GET /ui/api/logs         a CommandRun's or a Service's output, followed
// The two streams are WebSocket messages when the request asks for an upgrade (as the page
// does), server-sent events otherwise (dashboard_streams.h). They are bounded: at most
// max_streams open (more are answered 503), at most stream_buffer_bytes queued for one client (a
// watch client further behind is dropped), a heartbeat every `heartbeat` (so that a client
// that went away is noticed). A log stream reads on a thread of its own (LogsService blocks);
// every write happens on the HTTP server's thread, so no stream holds up another request.
// Only requests whose Host is an IP address or "localhost" are answered (a page of another site
// reaching 127.0.0.1 through a DNS name it controls is refused), and a WebSocket only from the
// dashboard's own origin. Thread-safe.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "controller/server/dashboard_api.h"
#include "controller/server/logs_service.h"
#include "controller/server/watch_hub.h"

namespace cenv {

class StreamWaker;
class LogPipe;

struct DashboardOptions {
  // Watch and log streams open at once; one more is answered 503 (default 64).
  size_t max_streams = 64;
  // Of which log streams, each of which holds a thread while it lasts (default 16).
  size_t max_log_streams = 16;
  // Bytes queued for one stream's client; a watch client further behind is dropped, a log
  // stream waits for its client instead (default 1 MiB).
  size_t stream_buffer_bytes = size_t{1} << 20;
  // A heartbeat on every stream this often (default 15 s).
  std::chrono::milliseconds heartbeat{15000};
};

class Dashboard {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `logs` may be null: log streams then fail. Every reference must outlive this.
  Dashboard(ApiService& api, WatchHub& hub, LogsService* logs, DashboardOptions options = {});
  ~Dashboard();  // stop()
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Whether `path` (no query) is the dashboard's: /ui or anything under /ui/.
  static bool owns(std::string_view path);
  // Whether GET `path` is answered by serve_stream() instead of answer().
  static bool is_stream(std::string_view path);

  // The answer to GET `target` (path and query) sent with Host `host`: a file, JSON, a
  // redirect of /ui to /ui/, 404 for anything else, 403 for a Host that is no IP address
  // and not localhost.
  HttpAnswer answer(std::string_view target, std::string_view host) const;
  // Takes `socket` over to answer `request` (a GET of a stream path) with a stream until the
  // client goes away or stop(); or with a plain error (400, 403, 503) and closes it. Call on
  // the thread that runs `socket`'s io_context.
  void serve_stream(boost::asio::ip::tcp::socket socket, Request request);

  // Ends every log stream's reader thread (and waits for it) and detaches from the io_context:
  // nothing is posted to it afterwards. Call once the io_context's thread has stopped and
  // before the io_context is destroyed; idempotent.
  void stop();

  // Streams open now, and watch streams dropped because their client fell behind so far.
  size_t open_streams() const { return open_streams_->load(); }
  size_t dropped_streams() const { return dropped_->load(); }

 private:
  HttpAnswer answer_unframed(std::string_view target, std::string_view host) const;
  // Starts the reader thread of a log stream.
  void start_reader(std::shared_ptr<LogPipe> pipe, const QueryParams& q);
  // Joins the reader threads that have ended. Requires followers_mu_.
  void reap_locked();

  ApiService& api_;
  WatchHub& hub_;
  LogsService* logs_;
  const DashboardOptions options_;
  DashboardApi json_;
  std::shared_ptr<StreamWaker> waker_;
  std::shared_ptr<std::atomic<size_t>> dropped_ = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<std::atomic<size_t>> open_streams_ = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<std::atomic<size_t>> open_log_streams_ = std::make_shared<std::atomic<size_t>>(0);
  struct Follower {
    std::shared_ptr<LogPipe> pipe;
    std::jthread thread;
  };
  std::mutex followers_mu_;
  std::list<Follower> followers_;  // guarded by followers_mu_
  bool stopped_ = false;           // guarded by followers_mu_
};

// Whether a request with Host `host` ("127.0.0.1:8080", "[::1]:80", "localhost") may be
// answered: its name is an IP address or "localhost".
bool dashboard_host_allowed(std::string_view host);

}  // namespace cenv
