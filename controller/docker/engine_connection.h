#pragma once
// EngineConnection: one HTTP/1.1 connection to the Docker Engine over a unix socket, TCP or
// TCP+TLS. Every operation runs on the connection's own io_context in the calling thread,
// bounded by a deadline and cancellable through a std::stop_token. Used by one thread at a
// time (EngineTransport pools them). Internal to controller/docker: include only from .cc files.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <variant>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv::docker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;
using Deadline = std::optional<SteadyTime>;

// Where the daemon listens, parsed from DOCKER_HOST.
struct EngineEndpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix: socket path
  std::string host;  // kTcp
  std::string port;  // kTcp
  bool tls = false;  // kTcp only
  // "unix:///var/run/docker.sock" or "tcp://host:port".
  std::string to_string() const;
};

// Parses DOCKER_HOST syntax: "unix:///path", "/path" (unix), "tcp://host[:port]" (port
// defaults to 2376 with TLS, else 2375; IPv6 as "[::1]:2375"). Invalid for anything else.
Result<EngineEndpoint> parse_docker_host(std::string_view docker_host, bool tls);

class EngineConnection {
 public:
  // Connects (and for TLS hands shake; `tls` must then be set, `verify_host` checks the
  // certificate's name) by `deadline`. Unavailable with the cause when the daemon cannot be
  // reached: "docker is not running at unix:///var/run/docker.sock: connection refused".
  static Result<std::unique_ptr<EngineConnection>> open(const EngineEndpoint& endpoint,
                                                        asio::ssl::context* tls, bool verify_host,
                                                        SteadyTime deadline);
  ~EngineConnection();
  EngineConnection(const EngineConnection&) = delete;
  EngineConnection& operator=(const EngineConnection&) = delete;

  // Writes a whole request.
  template <class Body>
  error_code write(http::request<Body>& request, Deadline deadline, const std::stop_token& stop) {
    error_code ec = run(
        [&](auto handler) {
          visit_stream([&](auto& s) { http::async_write(s, request, std::move(handler)); });
        },
        deadline, stop);
    if (ec) broken_ = true;
    return ec;
  }

  // Reads a whole response into `parser`.
  error_code read(http::response_parser<http::string_body>& parser, Deadline deadline,
                  const std::stop_token& stop);
  // Reads a response header only.
  error_code read_header(http::response_parser<http::buffer_body>& parser, Deadline deadline,
                         const std::stop_token& stop);
  // Reads the next piece of body (at most `capacity` bytes into `buf`); *n is the count read.
  // Ok with *n == 0 and parser.is_done() at the end of the body.
  error_code read_body_some(http::response_parser<http::buffer_body>& parser, char* buf,
                            size_t capacity, size_t* n, Deadline deadline,
                            const std::stop_token& stop);

  // After the header of a hijacked response (attach, exec start): feeds raw bytes to
  // `on_bytes` and everything written to `stdin_pipe` (may be null) to the daemon, until the
  // daemon closes its side, `on_bytes` returns false (*stopped set) or `stop` is triggered.
  // End of file from the daemon is Ok. On TLS connections stdin EOF cannot be half-closed and
  // is not delivered.
  error_code pump_hijacked(StdinPipe* stdin_pipe,
                           const std::function<bool(std::string_view)>& on_bytes,
                           const std::stop_token& stop, bool* stopped);

  // True when the connection can carry another request: no error so far, the last response
  // allowed keep-alive, and the daemon has not closed it while idle.
  bool reusable();
  void set_keep_alive(bool keep_alive) { keep_alive_ = keep_alive; }
  // Marks the connection unusable (after a timeout, a cancel or a protocol error).
  void set_broken() { broken_ = true; }

 private:
  using UnixSocket = asio::local::stream_protocol::socket;
  using TcpSocket = asio::ip::tcp::socket;
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

  struct OpState {
    bool done = false;
    error_code ec;
    size_t n = 0;
  };
  // Completion handler of one operation, for any of asio's and beast's signatures.
  struct Handler {
    OpState* op;
    void operator()(error_code ec, size_t n = 0) const {
      op->done = true;
      op->ec = ec;
      op->n = n;
    }
  };

  EngineConnection() = default;

  template <class F>
  decltype(auto) visit_stream(F&& f) {
    return std::visit([&](auto& p) -> decltype(auto) { return f(*p); }, stream_);
  }

  // Runs the asynchronous operation `start(Handler)` to completion. Returns its error, or
  // asio::error::timed_out after `deadline`, or operation_aborted when `stop` fired. Callers
  // mark the connection broken on errors.
  template <class Start>
  error_code run(Start&& start, Deadline deadline, const std::stop_token& stop,
                 size_t* n = nullptr) {
    if (stop.stop_requested()) return asio::error::operation_aborted;
    OpState op;
    ioc_.restart();
    start(Handler{&op});
    asio::steady_timer timer(ioc_);
    bool timer_pending = false;
    bool timed_out = false;
    if (deadline) {
      timer_pending = true;
      timer.expires_at(*deadline);
      timer.async_wait([&](error_code ec) {
        timer_pending = false;
        if (!ec && !op.done) {
          timed_out = true;
          cancel();
        }
      });
    }
    {
      std::stop_callback on_stop(stop, [this] { asio::post(ioc_, [this] { cancel(); }); });
      while (!op.done) {
        if (ioc_.run_one() == 0) break;
      }
    }
    // Drain the timer and any cancel posted by a stop that raced with completion: their
    // handlers refer to this frame.
    timer.cancel();
    ioc_.restart();
    while (timer_pending) ioc_.run_one();
    ioc_.poll();
    if (n) *n = op.n;
    if (!op.done) return asio::error::operation_aborted;
    if (timed_out) return asio::error::timed_out;
    return op.ec;
  }

  // Cancels outstanding operations (runs on the io_context's thread).
  void cancel();
  void shutdown_send();
  int native_handle();

  asio::io_context ioc_;
  std::variant<std::unique_ptr<UnixSocket>, std::unique_ptr<TcpSocket>, std::unique_ptr<TlsStream>>
      stream_;
  beast::flat_buffer buffer_;  // bytes read past the last message (a hijacked stream's start)
  bool broken_ = false;
  bool keep_alive_ = true;
};

// Message for a transport failure: "connection refused", "timed out", ...
std::string transport_error_text(const error_code& ec);

}  // namespace cenv::docker
