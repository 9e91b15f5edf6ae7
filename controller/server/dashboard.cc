#include "controller/server/dashboard.h"

#include <pthread.h>

#include <boost/asio.hpp>
#include <boost/beast/websocket.hpp>
#include <utility>

#include "controller/server/dashboard_assets.h"
#include "controller/server/dashboard_streams.h"
#include "controller/server/watch_stream.h"

namespace cenv {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kUiPrefix = "/ui/";
constexpr std::string_view kWatchPath = "/ui/api/watch";
constexpr std::string_view kLogsPath = "/ui/api/logs";
constexpr std::string_view kForeignHost =
    "the dashboard answers only to an IP address or localhost as Host\n";

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// Writes a whole error answer to `socket` and closes it (a stream refused before it starts).
void refuse(tcp::socket socket, const HttpAnswer& a) {
  auto text = std::make_shared<std::string>(
      "HTTP/1.1 " + std::to_string(a.status) + " " + std::string(reason_phrase(a.status)) +
      "\r\nContent-Type: " + a.content_type +
      "\r\nContent-Length: " + std::to_string(a.body.size()) +
      "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" + a.body);
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*sock, asio::buffer(*text), [sock, text](boost::system::error_code, size_t) {
    boost::system::error_code ignored;
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  });
}

// Holds one count of `counter` for as long as a stream lives.
std::shared_ptr<void> count_in(const std::shared_ptr<std::atomic<size_t>>& counter) {
  class Count {
   public:
    explicit Count(std::shared_ptr<std::atomic<size_t>> c) : counter_(std::move(c)) { ++*counter_; }
    Count(const Count&) = delete;
    Count& operator=(const Count&) = delete;
    ~Count() { --*counter_; }

   private:
    std::shared_ptr<std::atomic<size_t>> counter_;
  };
  return std::make_shared<Count>(counter);
}

std::string param(const QueryParams& q, std::string_view name) {
  auto it = q.find(name);
  return it == q.end() ? std::string() : it->second;
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
    : api_(api),
      hub_(hub),
      logs_(logs),
      options_(options),
      json_(api),
      waker_(std::make_shared<StreamWaker>()) {}

Dashboard::~Dashboard() { stop(); }

bool Dashboard::owns(std::string_view path) { return path == "/ui" || path.starts_with(kUiPrefix); }

bool Dashboard::is_stream(std::string_view path) { return path == kWatchPath || path == kLogsPath; }

HttpAnswer Dashboard::answer(std::string_view target, std::string_view host) const {
  HttpAnswer a = answer_unframed(target, host);
  a.headers.emplace_back("Cache-Control", "no-cache");
  a.headers.emplace_back("Content-Security-Policy", std::string(kDashboardContentSecurityPolicy));
  a.headers.emplace_back("X-Content-Type-Options", "nosniff");
  a.headers.emplace_back("Referrer-Policy", "no-referrer");
  return a;
}

HttpAnswer Dashboard::answer_unframed(std::string_view target, std::string_view host) const {
  if (!dashboard_host_allowed(host))
    return HttpAnswer{403, "text/plain", std::string(kForeignHost)};
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

void Dashboard::serve_stream(tcp::socket socket, Request request) {
  const std::string host(request[http::field::host]);
  if (!dashboard_host_allowed(host)) {
    return refuse(std::move(socket), HttpAnswer{403, "text/plain", std::string(kForeignHost)});
  }
  const bool websocket = boost::beast::websocket::is_upgrade(request);
  // A WebSocket is not bound by the same-origin policy: only the dashboard's own page may open
  // one.
  if (websocket && !websocket_origin_allowed(request[http::field::origin], host)) {
    return refuse(
        std::move(socket),
        HttpAnswer{403, "text/plain", "the dashboard's streams open only from its page\n"});
  }
  const std::string target(request.target());
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const QueryParams q = parse_query(target);
  {
    std::lock_guard lock(followers_mu_);
    if (stopped_) return refuse(std::move(socket), json_error(503, "the controller is stopping"));
  }
  if (open_streams_->load() >= options_.max_streams) {
    return refuse(std::move(socket),
                  json_error(503, "too many dashboard streams are open (" +
                                      std::to_string(options_.max_streams) + "); close a page"));
  }
  StreamSetup setup{std::move(socket),
                    std::move(request),
                    options_.stream_buffer_bytes,
                    options_.heartbeat,
                    nullptr,
                    waker_};
  if (path == kWatchPath) {
    auto query = read_dashboard_query(api_.kinds(), q);
    if (!query.ok()) {
      return refuse(std::move(setup.socket), json_error(400, query.status().message()));
    }
    int64_t after = 0;
    if (std::string rv = param(q, "resourceVersion"); !rv.empty()) {
      after = parse_resource_version(rv);
      if (after < 0) {
        return refuse(std::move(setup.socket),
                      json_error(400, "resourceVersion: not a revision: \"" + rv + "\""));
      }
    } else {
      auto now = api_.store().revision();  // no version: what happens from now on
      after = now.ok() ? now.value() : 0;
    }
    setup.slot = count_in(open_streams_);
    return start_watch_stream(std::move(setup), hub_, std::move(query).value(), after, dropped_);
  }
  if (open_log_streams_->load() >= options_.max_log_streams) {
    return refuse(
        std::move(setup.socket),
        json_error(503, "too many log streams are open (" +
                            std::to_string(options_.max_log_streams) + "); close a page"));
  }
  auto slots = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(
      count_in(open_streams_), count_in(open_log_streams_));
  setup.slot = slots;
  auto pipe = std::make_shared<LogPipe>(options_.stream_buffer_bytes);
  start_log_stream(std::move(setup), pipe);  // sets the pipe's wake before the reader starts
  start_reader(std::move(pipe), q);
}

void Dashboard::start_reader(std::shared_ptr<LogPipe> pipe, const QueryParams& q) {
  LogsQuery query;
  query.kind = param(q, "kind");
  query.ns = param(q, "namespace");
  query.name = param(q, "name");
  query.follow = param(q, "follow") != "0";
  query.since_bytes = std::strtoll(param(q, "sinceBytes").c_str(), nullptr, 10);
  LogsService* logs = logs_;
  std::lock_guard lock(followers_mu_);
  reap_locked();
  followers_.push_back(Follower{
      pipe, std::jthread([logs, pipe, query] {
        pthread_setname_np(pthread_self(), "cenv-ui-logs");
        Status s =
            logs == nullptr
                ? Status::NotFound("this server serves no logs")
                : logs->stream(
                      query, [&pipe](const LogFrame& f) { return pipe->push(log_frame_event(f)); },
                      [&pipe] { return pipe->cancelled(); });
        pipe->push(s.ok()
                       ? StreamEvent{"eof", "{}", ""}
                       : StreamEvent{"failure", "{\"error\":" + json_quote(s.message()) + "}", ""});
        pipe->close();
        pipe->set_finished();
      })});
}

void Dashboard::reap_locked() {
  for (auto it = followers_.begin(); it != followers_.end();) {
    if (it->pipe->finished()) {
      it->thread.join();
      it = followers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Dashboard::stop() {
  waker_->disable();
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
