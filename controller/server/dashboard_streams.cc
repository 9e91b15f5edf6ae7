#include "controller/server/dashboard_streams.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>

namespace cenv {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

void StreamWaker::post(const asio::any_io_executor& exec, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (alive_) asio::post(exec, std::move(fn));
}

void StreamWaker::disable() {
  std::lock_guard lock(mu_);
  alive_ = false;
}

bool LogPipe::push(StreamEvent e) {
  {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return cancelled_ || bytes_ < limit_; });
    if (cancelled_) return false;
    bytes_ += e.data.size();
    events_.push_back(std::move(e));
  }
  wake_();
  return true;
}

void LogPipe::close() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  wake_();
}

std::deque<StreamEvent> LogPipe::take(bool& done) {
  std::deque<StreamEvent> out;
  {
    std::lock_guard lock(mu_);
    out.swap(events_);
    bytes_ = 0;
    done = done_;
  }
  space_.notify_all();
  return out;
}

void LogPipe::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  space_.notify_all();
}

bool LogPipe::cancelled() {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void LogPipe::set_finished() {
  std::lock_guard lock(mu_);
  finished_ = true;
}

bool LogPipe::finished() {
  std::lock_guard lock(mu_);
  return finished_;
}

namespace {

// One stream on a connection taken over from the HTTP server: server-sent events, or WebSocket
// messages when the request asked for an upgrade. Runs on the io thread only.
class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  explicit EventStream(StreamSetup setup)
      : ws_(std::move(setup.socket)),
        timer_(ws_.get_executor()),
        request_(std::move(setup.request)),
        websocket_(websocket::is_upgrade(request_)),
        limit_(setup.limit),
        heartbeat_(setup.heartbeat),
        slot_(std::move(setup.slot)),
        waker_(std::move(setup.waker)) {}
  virtual ~EventStream() = default;

  // Answers the request (the event-stream header, or the WebSocket handshake), then start();
  // then reads until the client goes away, and beats.
  void begin() {
    if (!websocket_) {
      out_ =
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
          "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n"
          "Content-Security-Policy: ";
      out_ += kDashboardContentSecurityPolicy;
      out_ += "\r\nX-Content-Type-Options: nosniff\r\n\r\n";
      return started();
    }
    ws_.read_message_max(16 * 1024);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "cenv"); }));
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->started();
    });
  }

  asio::any_io_executor executor() { return ws_.get_executor(); }

 protected:
  virtual void start() = 0;
  // Everything queued was written: a log stream takes more from its pipe.
  virtual void drained() {}
  virtual void closing() {}

  // Queues `e`. With `bounded`, a client more than the limit behind is dropped (false).
  bool queue(const StreamEvent& e, bool bounded = true) {
    if (closed_) return false;
    if (bounded && out_.size() + writing_.size() + e.data.size() > limit_ + 4096) {
      spdlog::info("dashboard: a stream's client fell {} bytes behind; dropping it",
                   out_.size() + writing_.size());
      close();
      return false;
    }
    if (!websocket_) {
      out_ += sse_event(e.type, e.data, e.id);
      return true;
    }
    out_ += out_.empty() ? "{\"event\":\"" : ",{\"event\":\"";
    out_ += e.type;
    out_ += "\",\"id\":\"";
    out_ += e.id;
    out_ += "\",\"data\":";
    out_ += e.data.empty() ? "{}" : e.data;
    out_ += "}";
    return true;
  }
  void flush() {
    // Nothing before the response header or the handshake (a log reader may wake us sooner).
    if (closed_ || writing_active_ || !answered_) return;
    if (out_.empty() && !beat_due_) {
      if (finishing_) return close();
      return drained();
    }
    beat_due_ = false;
    writing_active_ = true;
    auto done = [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writing_active_ = false;
      self->writing_.clear();
      if (ec) return self->close();
      self->flush();
    };
    if (websocket_) {
      writing_ = "[" + out_ + "]";
      out_.clear();
      ws_.text(true);
      ws_.async_write(asio::buffer(writing_), std::move(done));
    } else {
      writing_ = out_.empty() ? sse_comment("heartbeat") : std::move(out_);
      out_.clear();
      asio::async_write(ws_.next_layer(), asio::buffer(writing_), std::move(done));
    }
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
    beast::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
  }
  bool closed() const { return closed_; }
  std::weak_ptr<EventStream> weak() { return weak_from_this(); }
  const std::shared_ptr<StreamWaker>& waker() const { return waker_; }

 private:
  void started() {
    answered_ = true;
    start();
    flush();
    read_until_closed();
    beat();
  }
  // A server-sent events client sends nothing after its request, a WebSocket client only
  // control frames: a read ends when it goes away.
  void read_until_closed() {
    auto on_read = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->read_buffer_.clear();
      self->read_until_closed();
    };
    if (websocket_) {
      ws_.async_read(read_buffer_, std::move(on_read));
    } else {
      ws_.next_layer().async_read_some(read_buffer_.prepare(256), std::move(on_read));
    }
  }
  void beat() {
    timer_.expires_after(heartbeat_);
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      if (self->out_.empty() && !self->writing_active_) self->beat_due_ = true;
      self->flush();
      self->beat();
    });
  }

  websocket::stream<tcp::socket> ws_;  // its next_layer() is the connection for SSE too
  asio::steady_timer timer_;
  beast::http::request<beast::http::string_body> request_;
  const bool websocket_;
  const size_t limit_;
  const std::chrono::milliseconds heartbeat_;
  std::shared_ptr<void> slot_;
  std::shared_ptr<StreamWaker> waker_;
  std::string out_;      // queued, not yet written
  std::string writing_;  // the write in flight
  beast::flat_buffer read_buffer_;
  bool answered_ = false;  // the handshake is done (WebSocket) or the header queued (SSE)
  bool writing_active_ = false;
  bool beat_due_ = false;
  bool finishing_ = false;
  bool closed_ = false;
};

// The hub's events of the query's kinds after a revision: the history first, then as they come.
class WatchEventStream final : public EventStream {
 public:
  WatchEventStream(StreamSetup setup, WatchHub& hub, DashboardQuery query, int64_t after,
                   std::shared_ptr<std::atomic<size_t>> dropped)
      : EventStream(std::move(setup)),
        hub_(hub),
        query_(std::move(query)),
        after_(after),
        dropped_(std::move(dropped)) {}

 private:
  struct Watched {
    std::shared_ptr<WatchHub::Subscription> subscription;
    int64_t last = 0;  // events at or below were sent (from the history)
  };

  void start() override {
    std::weak_ptr<EventStream> weak_self = weak();
    // Called on the hub's thread: one pump is posted at a time.
    auto on_ready = [weak_self, posted = pump_posted_, waker = waker(), exec = executor()] {
      if (posted->exchange(true)) return;
      waker->post(exec, [weak_self, posted] {
        posted->store(false);
        if (auto s = weak_self.lock()) static_cast<WatchEventStream&>(*s).pump();
      });
    };
    for (const KindInfo* kind : query_.kinds) {
      WatchFilter filter{kind->kind, kind->namespaced ? query_.ns : std::string(), query_.selector};
      auto replay = hub_.subscribe_from(std::move(filter), after_, on_ready);
      if (!replay.ok()) return gone(replay.status().message());
      for (WatchEvent& e : replay->history) {
        if (!send(SharedWatchEvent(std::move(e)))) return;
      }
      watched_.push_back({replay->subscription, replay->last});
    }
    queue({"ready", "{}", ""});
  }

  void pump() {
    if (closed()) return;
    for (Watched& w : watched_) {
      auto events = w.subscription->poll();
      if (!events.ok()) return gone(events.status().message());
      for (const auto& e : events.value()) {
        if (e->event().revision <= w.last) continue;
        w.last = e->event().revision;
        if (!send(*e)) return;
      }
    }
    flush();
  }

  // False when the client was dropped.
  bool send(const SharedWatchEvent& e) {
    const WatchEvent& ev = e.event();
    if (!query_.name.empty() && ev.object.name() != query_.name) return true;
    std::string data = "{\"type\":\"";
    data += event_type_name(ev.type);
    data += "\",\"object\":";
    data += e.json();  // secrets redacted
    data += "}";
    if (queue({"change", std::move(data), std::to_string(ev.revision)})) return true;
    ++*dropped_;
    return false;
  }

  // The watch cannot go on (its history was compacted, it fell behind): the page lists again.
  void gone(const std::string& message) {
    queue({"gone", "{\"error\":" + json_quote(message) + "}", ""});
    watched_.clear();
    finish();
  }

  void closing() override { watched_.clear(); }

  WatchHub& hub_;
  const DashboardQuery query_;
  const int64_t after_;
  std::shared_ptr<std::atomic<size_t>> dropped_;
  std::vector<Watched> watched_;
  std::shared_ptr<std::atomic<bool>> pump_posted_ = std::make_shared<std::atomic<bool>>(false);
};

// What a log reader thread puts into its pipe.
class LogEventStream final : public EventStream {
 public:
  LogEventStream(StreamSetup setup, std::shared_ptr<LogPipe> pipe)
      : EventStream(std::move(setup)), pipe_(std::move(pipe)) {}

  void pump() { flush(); }

 private:
  void start() override {}
  void drained() override {
    bool done = false;
    std::deque<StreamEvent> more = pipe_->take(done);
    // The pipe bounds a log stream: its reader waits for the client instead of dropping it.
    for (const StreamEvent& e : more) queue(e, false);
    if (!more.empty()) {
      flush();
    } else if (done) {
      finish();
    }
  }
  void closing() override { pipe_->cancel(); }

  std::shared_ptr<LogPipe> pipe_;
};

}  // namespace

void start_watch_stream(StreamSetup setup, WatchHub& hub, DashboardQuery query, int64_t after,
                        std::shared_ptr<std::atomic<size_t>> dropped) {
  std::make_shared<WatchEventStream>(std::move(setup), hub, std::move(query), after,
                                     std::move(dropped))
      ->begin();
}

void start_log_stream(StreamSetup setup, std::shared_ptr<LogPipe> pipe) {
  auto waker = setup.waker;
  auto stream = std::make_shared<LogEventStream>(std::move(setup), pipe);
  std::weak_ptr<LogEventStream> weak = stream;
  pipe->set_wake([weak, waker, exec = stream->executor()] {
    waker->post(exec, [weak] {
      if (auto s = weak.lock()) s->pump();
    });
  });
  stream->begin();
}

StreamEvent log_frame_event(const LogFrame& f) {
  if (f.end) {
    return {
        "end",
        "{\"phase\":" + json_quote(f.phase) + ",\"exitCode\":" + std::to_string(f.exit_code) + "}",
        ""};
  }
  const int64_t next = f.offset + static_cast<int64_t>(f.data.size());
  std::string data = "{\"stream\":\"";
  data += log_stream_name(f.stream);
  data += "\",\"offset\":" + std::to_string(f.offset) + ",\"next\":" + std::to_string(next) +
          ",\"data\":" + json_quote(valid_utf8(f.data)) + "}";
  return {"log", std::move(data), std::to_string(next)};
}

bool websocket_origin_allowed(std::string_view origin, std::string_view host) {
  if (origin.empty()) return true;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.starts_with(scheme) && origin.substr(scheme.size()) == host) return true;
  }
  return false;
}

}  // namespace cenv
