#include "controller/server/http_server.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <string_view>

namespace cenv {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kMaxBodyBytes = 64 * 1024;  // any request but a webhook's
constexpr std::string_view kGitWebhookPrefix = "/hooks/git/";

bool is_git_webhook(std::string_view path) { return path.starts_with(kGitWebhookPrefix); }

// The target without its query ("/hooks/git/shop?x=1" -> "/hooks/git/shop").
std::string_view target_path(std::string_view target) { return target.substr(0, target.find('?')); }

std::optional<std::string> header(const http::request<http::string_body>& req,
                                  std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Metrics& metrics, const HttpServerOptions& options)
      : stream_(std::move(socket)), metrics_(metrics), options_(options) {}

  void run() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // The largest any target takes; lowered once the target is known (read_body).
    parser_->body_limit(kMaxWebhookBodyBytes);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec == http::error::body_limit) return self->too_large();
                              if (!ec) self->read_body();
                            });
  }

 private:
  void read_body() {
    const std::string_view path = target_path(parser_->get().target());
    const uint64_t limit = is_git_webhook(path) ? kMaxWebhookBodyBytes : kMaxBodyBytes;
    if (parser_->content_length() && *parser_->content_length() > limit) return too_large();
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec == http::error::body_limit) return self->too_large();
                       if (!ec) self->respond();
                     });
  }

  void too_large() {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(http::status::payload_too_large);
    res->body() = "request body too large\n";
    send(std::move(res));
  }

  void respond() {
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    const std::string_view path = target_path(req.target());
    if (is_git_webhook(path)) {
      git_webhook(req, path.substr(kGitWebhookPrefix.size()), *res);
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET, HEAD");
      res->body() = "only GET\n";
    } else if (options_.dashboard != nullptr && Dashboard::owns(path)) {
      const std::string host = header(req, "Host").value_or("");
      if (Dashboard::is_stream(path)) {
        // The stream owns the connection (and the request) from here on.
        options_.dashboard->serve_stream(stream_.release_socket(), parser_->release());
        return;
      }
      HttpAnswer answer = options_.dashboard->answer(req.target(), host);
      res->result(static_cast<http::status>(answer.status));
      res->set(http::field::content_type, answer.content_type);
      for (const auto& [name, value] : answer.headers) res->set(name, value);
      res->body() = std::move(answer.body);
    } else if (path == "/healthz" || path == "/livez") {
      res->body() = "ok\n";
    } else if (path == "/readyz") {
      Status ready = options_.ready ? options_.ready() : Status::Ok();
      res->result(ready.ok() ? http::status::ok : http::status::service_unavailable);
      res->body() = ready.ok() ? "ok\n" : "not ready: " + ready.message() + "\n";
      if (ready.ok() && options_.ready_detail) res->body() += options_.ready_detail();
    } else if (path == "/metrics") {
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = metrics_.render();
    } else {
      res->result(http::status::not_found);
      res->body() = options_.dashboard != nullptr
                        ? "not found: try /ui/, /healthz, /readyz or /metrics\n"
                        : "not found: try /healthz, /readyz or /metrics\n";
    }
    send(std::move(res));
  }

  void git_webhook(const http::request<http::string_body>& req, std::string_view environment,
                   http::response<http::string_body>& res) {
    if (req.method() != http::verb::post) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "POST");
      res.body() = "only POST\n";
      return;
    }
    if (!options_.git_webhook) {
      res.result(http::status::not_found);
      res.body() = "not found: this server takes no Git webhooks\n";
      return;
    }
    WebhookRequest call;
    call.body = req.body();
    call.hub_signature = header(req, "X-Hub-Signature-256");
    call.gitlab_token = header(req, "X-Gitlab-Token");
    WebhookAnswer answer = options_.git_webhook(environment, call);
    res.result(static_cast<http::status>(answer.status));
    res.body() = answer.message + "\n";
  }

  void send(std::shared_ptr<http::response<http::string_body>> res) {
    res->keep_alive(false);
    res->set(http::field::server, "cenv");
    if (res->find(http::field::content_type) == res->end()) {
      res->set(http::field::content_type, "text/plain");
    }
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return;
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        // Read what the client still sends (a body refused unread) until it closes:
                        // closing with unread data would reset the connection and could lose the
                        // answer on the client's side.
                        self->stream_.expires_after(std::chrono::seconds(5));
                        self->drain();
                      });
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 16 * 1024> drain_buffer_;
  Metrics& metrics_;
  const HttpServerOptions& options_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(Metrics& m, HttpServerOptions o) : metrics(m), options(std::move(o)), acceptor(io) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed on shutdown
      std::make_shared<Session>(std::move(socket), metrics, options)->run();
      accept();
    });
  }

  Metrics& metrics;
  HttpServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::jthread thread;
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(Metrics& metrics, HttpServerOptions options) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>(metrics, std::move(options));
  Impl& impl = *server->impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(impl.options.address, ec);
  if (ec) return Status::Invalid("http address \"" + impl.options.address + "\": " + ec.message());
  tcp::endpoint endpoint(address, impl.options.port);
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen for HTTP on " + impl.options.address + ":" +
                               std::to_string(impl.options.port) + ": " + ec.message());
  }
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.accept();
  impl.thread = std::jthread([&impl] { impl.io.run(); });
  return server;
}

HttpServer::~HttpServer() {
  if (!impl_) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Before the io_context goes: nothing may be posted to it any more.
  if (impl_->options.dashboard != nullptr) impl_->options.dashboard->stop();
}

}  // namespace cenv
