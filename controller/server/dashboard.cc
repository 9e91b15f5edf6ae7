#include "controller/server/dashboard.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <utility>

#include "controller/server/dashboard_assets.h"

namespace cenv {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kUiPrefix = "/ui/";
constexpr std::string_view kWatchPath = "/ui/api/watch";
constexpr std::string_view kLogsPath = "/ui/api/logs";

// Headers of every dashboard answer: nothing but the dashboard's own files runs in the page.
#define CENV_DASHBOARD_CSP                                                                 \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
constexpr std::string_view kContentSecurityPolicy = CENV_DASHBOARD_CSP;
constexpr std::string_view kSecurityHeaders =
    "Content-Security-Policy: " CENV_DASHBOARD_CSP "\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";
#undef CENV_DASHBOARD_CSP

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A whole plain answer written straight to a socket (streams refused before they start).
std::string raw_answer(const HttpAnswer& a) {
  return "HTTP/1.1 " + std::to_string(a.status) + " " + std::string(reason_phrase(a.status)) +
         "\r\nContent-Type: " + a.content_type + "\r\nContent-Length: " +
         std::to_string(a.body.size()) + "\r\nConnection: close\r\nCache-Control: no-store\r\n" +
         std::string(kSecurityHeaders) + "\r\n" + a.body;
}

// Counts one open stream (and maybe one log stream) for as long as it lives.
class StreamSlot {
 public:
  StreamSlot(std::atomic<size_t>& all, std::atomic<size_t>* logs) : all_(&all), logs_(logs) {}
  StreamSlot(StreamSlot&& o) noexcept : all_(std::exchange(o.all_, nullptr)), logs_(o.logs_) {}
  StreamSlot& operator=(StreamSlot&&) = delete;
  ~StreamSlot() {
    if (all_ == nullptr) return;
    --*all_;
    if (logs_ != nullptr) --*logs_;
  }

 private:
  std::atomic<size_t>* all_;
  std::atomic<size_t>* logs_;
};

}  // namespace

struct Dashboard::Waker {
  std::mutex mu;
  bool alive = true;  // guarded by mu
  // Runs `fn` on `exec`'s thread unless the dashboard stopped.
  void post(const asio::any_io_executor& exec, std::function<void()> fn) {
    std::lock_guard lock(mu);
    if (alive) asio::post(exec, std::move(fn));
  }
};

struct Dashboard::LogPipe {
  std::mutex mu;
  std::condition_variable space;
  std::string data;        // guarded by mu: event text the stream has not taken yet
  bool done = false;       // guarded by mu: the reader thread has queued its last event
  bool cancelled = false;  // guarded by mu: the stream is gone; the reader stops
  bool finished = false;   // guarded by mu: the thread has returned (it can be joined)
  std::function<void()> wake;  // set before the thread starts: the stream takes data
  size_t limit = 0;

  // Queues `text` for the stream, waiting while the stream is `limit` behind; false once the
  // stream is gone.
  bool push(std::string text) {
    {
      std::unique_lock lock(mu);
      space.wait(lock, [&] { return cancelled || data.size() < limit; });
      if (cancelled) return false;
      data += text;
    }
    wake();
    return true;
  }
  void cancel() {
    {
      std::lock_guard lock(mu);
      cancelled = true;
    }
    space.notify_all();
  }
};

namespace {

// One server-sent events response on a socket taken over from the HTTP server. Runs on the
// io thread only (other threads reach it through Waker posts holding a weak pointer).
class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(tcp::socket socket, StreamSlot slot, size_t limit,
              std::chrono::milliseconds heartbeat)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        slot_(std::move(slot)),
        limit_(limit),
        heartbeat_(heartbeat) {}
  virtual ~EventStream() = default;

  // Writes the response header, then start(); watches for the client closing and beats.
  void begin() {
    out_ =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n";
    out_ += kSecurityHeaders;
    out_ += "\r\n";
    start();
    flush();
    read_until_closed();
    beat();
  }

 protected:
  virtual void start() = 0;
  // out_ was written and is empty: a log stream takes more from its pipe.
  virtual void drained() {}
  virtual void closing() {}

  // Queues `text`; with `bounded`, false when that puts the client more than the limit behind
  // (the stream is then dropped).
  bool queue(std::string_view text, bool bounded = true) {
    if (closed_) return false;
    if (bounded && out_.size() + writing_.size() + text.size() > limit_ + 4096) {
      spdlog::info("dashboard: a stream's client fell {} bytes behind; dropping it",
                   out_.size() + writing_.size());
      close();
      return false;
    }
    out_ += text;
    return true;
  }
  void flush() {
    if (closed_ || writing_active_) return;
    if (out_.empty()) {
      if (finishing_) return close();
      return drained();
    }
    writing_.swap(out_);
    out_.clear();
    writing_active_ = true;
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_active_ = false;
                        self->writing_.clear();
                        if (ec) return self->close();
                        self->flush();
                      });
  }
  // Closes once everything queued is written.
  void finish() {
    finishing_ = true;
    flush();
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    closing();
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  bool closed() const { return closed_; }

 public:
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  // The client sends nothing more after its request: a read ends only when it goes away.
  void read_until_closed() {
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->read_until_closed();
                            });
  }
  void beat() {
    timer_.expires_after(heartbeat_);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      if (self->out_.empty() && !self->writing_active_) self->out_ = sse_comment("heartbeat");
      self->flush();
      self->beat();
    });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  StreamSlot slot_;
  const size_t limit_;
  const std::chrono::milliseconds heartbeat_;
  std::string out_;      // queued, not yet written
  std::string writing_;  // the write in flight
  bool writing_active_ = false;
  bool finishing_ = false;
  bool closed_ = false;
  std::array<char, 256> read_buffer_{};
};

// GET /ui/api/watch: the hub's events of the query's kinds after a resourceVersion.
class WatchEventStream final : public EventStream {
 public:
  WatchEventStream(tcp::socket socket, StreamSlot slot, size_t limit,
                   std::chrono::milliseconds heartbeat, WatchHub& hub, DashboardQuery query,
                   int64_t after, std::shared_ptr<Dashboard::Waker> waker,
                   std::shared_ptr<std::atomic<size_t>> dropped_count)
      : EventStream(std::move(socket), std::move(slot), limit, heartbeat),
        hub_(hub),
        query_(std::move(query)),
        after_(after),
        waker_(std::move(waker)),
        dropped_count_(std::move(dropped_count)) {}

 private:
  struct Watched {
    std::shared_ptr<WatchHub::Subscription> subscription;
    int64_t last = 0;  // events at or below were sent (from the history)
  };

  void start() override {
    auto weak = std::weak_ptr<WatchEventStream>(
        std::static_pointer_cast<WatchEventStream>(shared_from_this()));
    // Called on the hub's thread: one pump is posted at a time.
    auto on_ready = [weak, posted = pump_posted_, waker = waker_, exec = executor()] {
      if (posted->exchange(true)) return;
      waker->post(exec, [weak, posted] {
        posted->store(false);
        if (auto s = weak.lock()) s->pump();
      });
    };
    for (const KindInfo* kind : query_.kinds) {
      WatchFilter filter{kind->kind, kind->namespaced ? query_.ns : std::string(),
                         query_.selector};
      auto replay = hub_.subscribe_from(std::move(filter), after_, on_ready);
      if (!replay.ok()) return gone(replay.status().message());
      for (WatchEvent& e : replay->history) {
        send(SharedWatchEvent(std::move(e)));
        if (closed()) return;
      }
      watched_.push_back({replay->subscription, replay->last});
    }
    queue(sse_event("ready", "{}"));
  }

  void pump() {
    if (closed()) return;
    for (Watched& w : watched_) {
      auto events = w.subscription->poll();
      if (!events.ok()) return gone(events.status().message());
      for (const auto& e : events.value()) {
        if (e->event().revision <= w.last) continue;
        w.last = e->event().revision;
        send(*e);
        if (closed()) return;
      }
    }
    flush();
  }

  void send(const SharedWatchEvent& e) {
    const WatchEvent& ev = e.event();
    if (!query_.name.empty() && ev.object.name() != query_.name) return;
    std::string data = "{\"type\":\"";
    data += event_type_name(ev.type);
    data += "\",\"object\":";
    data += e.json();  // secrets redacted
    data += "}";
    if (!queue(sse_event("change", data, std::to_string(ev.revision)))) ++*dropped_count_;
  }

  // The watch cannot go on (its history was compacted, it fell behind): the page relists.
  void gone(const std::string& message) {
    queue(sse_event("gone", "{\"error\":" + json_quote(message) + "}"));
    watched_.clear();
    finish();
  }

  void closing() override { watched_.clear(); }

  WatchHub& hub_;
  const DashboardQuery query_;
  const int64_t after_;
  std::shared_ptr<Dashboard::Waker> waker_;
  std::shared_ptr<std::atomic<size_t>> dropped_count_;
  std::vector<Watched> watched_;
  std::shared_ptr<std::atomic<bool>> pump_posted_ = std::make_shared<std::atomic<bool>>(false);
};

// GET /ui/api/logs: output read by a thread of its own (Dashboard::Follower) into a pipe.
class LogEventStream final : public EventStream {
 public:
  LogEventStream(tcp::socket socket, StreamSlot slot, size_t limit,
                 std::chrono::milliseconds heartbeat, std::shared_ptr<Dashboard::LogPipe> pipe)
      : EventStream(std::move(socket), std::move(slot), limit, heartbeat), pipe_(std::move(pipe)) {}

  void pump() { flush(); }

 private:
  void start() override {}
  void drained() override {
    std::string more;
    bool done = false;
    {
      std::lock_guard lock(pipe_->mu);
      more.swap(pipe_->data);
      done = pipe_->done;
    }
    pipe_->space.notify_all();
    if (!more.empty()) {
      queue(more, false);  // the pipe bounds a log stream: it waits for its client
      flush();
    } else if (done) {
      finish();
    }
  }
  void closing() override { pipe_->cancel(); }

  std::shared_ptr<Dashboard::LogPipe> pipe_;
};

std::string log_frame_event(const LogFrame& f) {
  if (f.end) {
    return sse_event("end", "{\"phase\":" + json_quote(f.phase) +
                                ",\"exitCode\":" + std::to_string(f.exit_code) + "}");
  }
  std::string data = "{\"stream\":\"";
  data += log_stream_name(f.stream);
  const int64_t next = f.offset + static_cast<int64_t>(f.data.size());
  data += "\",\"offset\":" + std::to_string(f.offset) + ",\"next\":" + std::to_string(next) +
          ",\"data\":" + json_quote(valid_utf8(f.data)) + "}";
  return sse_event("log", data, std::to_string(next));
}

}  // namespace

bool dashboard_host_allowed(std::string_view host) {
  std::string_view name = host;
  if (name.starts_with('[')) {
    auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    name = name.substr(1, close - 1);
  } else if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (name == "localhost") return true;
  boost::system::error_code ec;
  asio::ip::make_address(std::string(name), ec);
  return !ec;
}

Dashboard::Dashboard(ApiService& api, WatchHub& hub, LogsService* logs, DashboardOptions options)
    : api_(api), hub_(hub), logs_(logs), options_(options), json_(api),
      waker_(std::make_shared<Waker>()) {}

Dashboard::~Dashboard() { stop(); }

bool Dashboard::owns(std::string_view path) { return path == "/ui" || path.starts_with(kUiPrefix); }

bool Dashboard::is_stream(std::string_view path) { return path == kWatchPath || path == kLogsPath; }

HttpAnswer Dashboard::answer(std::string_view target, std::string_view host) const {
  HttpAnswer a = answer_unframed(target, host);
  a.headers.emplace_back("Cache-Control", "no-cache");
  a.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  a.headers.emplace_back("X-Content-Type-Options", "nosniff");
  a.headers.emplace_back("Referrer-Policy", "no-referrer");
  return a;
}

HttpAnswer Dashboard::answer_unframed(std::string_view target, std::string_view host) const {
  if (!dashboard_host_allowed(host)) {
    return HttpAnswer{403, "text/plain", "the dashboard answers only to an IP address or localhost\n"};
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/ui") return HttpAnswer{301, "text/plain", "see /ui/\n", {{"Location", "/ui/"}}};
  QueryParams q = parse_query(target);
  if (path == "/ui/api/list") return json_.list(q);
  if (path == "/ui/api/object") return json_.object(q);
  if (path.starts_with("/ui/api/")) return json_error(404, "no such dashboard call");
  std::string_view file = path.substr(kUiPrefix.size());
  if (file.empty()) file = "index.html";
  const DashboardAsset* asset = find_dashboard_asset(file);
  if (asset == nullptr) return HttpAnswer{404, "text/plain", "not found\n"};
  return HttpAnswer{200, std::string(dashboard_content_type(file)), std::string(asset->body)};
}

void Dashboard::serve_stream(tcp::socket socket, std::string_view target, std::string_view host) {
  auto refuse = [&socket](HttpAnswer a) {
    auto text = std::make_shared<std::string>(raw_answer(a));
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*sock, asio::buffer(*text), [sock, text](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      sock->shutdown(tcp::socket::shutdown_both, ignored);
      sock->close(ignored);
    });
  };
  if (!dashboard_host_allowed(host)) {
    return refuse(HttpAnswer{403, "text/plain", "the dashboard answers only to an IP address or localhost\n"});
  }
  std::string_view path = target.substr(0, target.find('?'));
  QueryParams q = parse_query(target);
  {
    std::lock_guard lock(followers_mu_);
    if (stopped_) return refuse(json_error(503, "the controller is stopping"));
  }
  if (open_streams_.load() >= options_.max_streams) {
    return refuse(json_error(503, "too many dashboard streams are open (" +
                                      std::to_string(options_.max_streams) + "); close a page"));
  }
  auto parsed = read_dashboard_query(api_.kinds(), q);
  if (path == kWatchPath) {
    if (!parsed.ok()) return refuse(json_error(400, parsed.status().message()));
    return start_watch(std::move(socket), q);
  }
  if (logs_ == nullptr) return refuse(json_error(404, "this server serves no logs"));
  if (open_log_streams_.load() >= options_.max_log_streams) {
    return refuse(json_error(503, "too many log streams are open (" +
                                      std::to_string(options_.max_log_streams) + "); close a page"));
  }
  start_logs(std::move(socket), q);
}

void Dashboard::start_watch(tcp::socket socket, const QueryParams& q) {
  auto query = read_dashboard_query(api_.kinds(), q);
  int64_t after = 0;
  auto rv = q.find("resourceVersion");
  if (rv != q.end() && !rv->second.empty()) {
    after = std::strtoll(rv->second.c_str(), nullptr, 10);
  } else {
    auto now = api_.store().revision();
    after = now.ok() ? now.value() : 0;
  }
  ++open_streams_;
  StreamSlot slot(open_streams_, nullptr);
  auto stream = std::make_shared<WatchEventStream>(std::move(socket), std::move(slot),
                                                   options_.stream_buffer_bytes, options_.heartbeat,
                                                   hub_, std::move(query).value(), after, waker_,
                                                   dropped_);
  stream->begin();
}

void Dashboard::start_logs(tcp::socket socket, const QueryParams& q) {
  LogsQuery query;
  auto get = [&q](std::string_view name) -> std::string {
    auto it = q.find(name);
    return it == q.end() ? std::string() : it->second;
  };
  query.kind = get("kind");
  query.ns = get("namespace");
  query.name = get("name");
  query.follow = get("follow") != "0";
  query.since_bytes = std::strtoll(get("sinceBytes").c_str(), nullptr, 10);
  ++open_streams_;
  ++open_log_streams_;
  StreamSlot slot(open_streams_, &open_log_streams_);
  auto pipe = std::make_shared<LogPipe>();
  pipe->limit = options_.stream_buffer_bytes;
  auto stream = std::make_shared<LogEventStream>(std::move(socket), std::move(slot),
                                                 options_.stream_buffer_bytes, options_.heartbeat,
                                                 pipe);
  std::weak_ptr<LogEventStream> weak = stream;
  pipe->wake = [weak, waker = waker_, exec = stream->executor()] {
    waker->post(exec, [weak] {
      if (auto s = weak.lock()) s->pump();
    });
  };
  {
    std::lock_guard lock(followers_mu_);
    reap_locked();
    followers_.push_back(Follower{pipe, std::jthread([this, pipe, query] {
                                    pthread_setname_np(pthread_self(), "cenv-ui-logs");
                                    auto cancelled = [&pipe] {
                                      std::lock_guard l(pipe->mu);
                                      return pipe->cancelled;
                                    };
                                    Status s = logs_->stream(
                                        query,
                                        [&pipe](const LogFrame& f) {
                                          return pipe->push(log_frame_event(f));
                                        },
                                        cancelled);
                                    if (!s.ok()) {
                                      pipe->push(sse_event(
                                          "failure", "{\"error\":" + json_quote(s.message()) + "}"));
                                    } else {
                                      pipe->push(sse_event("eof", "{}"));
                                    }
                                    {
                                      std::lock_guard l(pipe->mu);
                                      pipe->done = true;
                                    }
                                    pipe->wake();
                                    std::lock_guard l(pipe->mu);
                                    pipe->finished = true;
                                  })});
  }
  stream->begin();
}

void Dashboard::reap_locked() {
  for (auto it = followers_.begin(); it != followers_.end();) {
    bool finished;
    {
      std::lock_guard l(it->pipe->mu);
      finished = it->pipe->finished;
    }
    if (finished) {
      it->thread.join();
      it = followers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Dashboard::stop() {
  {
    std::lock_guard lock(waker_->mu);
    waker_->alive = false;
  }
  std::list<Follower> followers;
  {
    std::lock_guard lock(followers_mu_);
    stopped_ = true;
    followers.swap(followers_);
  }
  for (Follower& f : followers) f.pipe->cancel();
  for (Follower& f : followers) {
    if (f.thread.joinable()) f.thread.join();
  }
}

}  // namespace cenv
