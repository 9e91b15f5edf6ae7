#include "controller/server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cenv {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Metrics& metrics, const HttpServerOptions& options)
      : stream_(std::move(socket)), metrics_(metrics), options_(options) {}

  void run() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->respond();
                     });
  }

 private:
  void respond() {
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(false);
    res->set(http::field::server, "cenv");
    std::string target(req.target());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->body() = "only GET\n";
    } else if (target == "/healthz" || target == "/livez") {
      res->body() = "ok\n";
    } else if (target == "/readyz") {
      Status ready = options_.ready ? options_.ready() : Status::Ok();
      res->result(ready.ok() ? http::status::ok : http::status::service_unavailable);
      res->body() = ready.ok() ? "ok\n" : "not ready: " + ready.message() + "\n";
    } else if (target == "/metrics") {
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = metrics_.render();
    } else {
      res->result(http::status::not_found);
      res->body() = "not found: try /healthz, /readyz or /metrics\n";
    }
    if (res->find(http::field::content_type) == res->end()) {
      res->set(http::field::content_type, "text/plain");
    }
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
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
}

}  // namespace cenv
