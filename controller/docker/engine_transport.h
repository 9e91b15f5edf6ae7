#pragma once
// EngineTransport: HTTP exchanges with the Docker Engine for EngineDockerClient — unary calls
// on a pool of keep-alive connections, streams and hijacked (attach/exec) streams on
// connections of their own. Transport failures become Unavailable naming the daemon; HTTP
// statuses are left to the caller. Thread-safe. Internal to controller/docker.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "controller/docker/engine_connection.h"
#include "controller/docker/engine_docker_client.h"

namespace cenv::docker {

enum class HttpMethod { kGet, kHead, kPost, kPut, kDelete };

struct EngineRequest {
  EngineRequest() = default;
  EngineRequest(HttpMethod m, std::string t, std::string b = {})
      : method(m), target(std::move(t)), body(std::move(b)) {}

  HttpMethod method = HttpMethod::kGet;
  std::string target;  // path and query, e.g. "/v1.41/containers/json?all=1"
  std::string body;
  std::string content_type = "application/json";  // sent when there is a body (or POST)
  std::string body_file;  // when set, the body is this file's content (build contexts)
  std::vector<std::pair<std::string, std::string>> headers;
};

struct EngineResponse {
  unsigned status = 0;
  std::string body;
  std::string api_version;  // the Api-Version header (the daemon's newest API)
};

// How a stream ended. For statuses other than 2xx/101, `error_body` holds Docker's answer.
struct StreamEnd {
  unsigned status = 0;
  std::string error_body;
  bool cancelled = false;  // the stop_token fired
  bool stopped = false;    // the body callback returned false
};

class EngineTransport {
 public:
  // Invalid for a bad host or unreadable TLS files.
  static Result<std::unique_ptr<EngineTransport>> create(const EngineOptions& options);
  ~EngineTransport();

  // One request and its whole response, bounded by `timeout` (connect included). A request
  // that fails on a reused idle connection the daemon had closed is retried once on a new one.
  Result<EngineResponse> roundtrip(const EngineRequest& request, std::chrono::milliseconds timeout);

  // A request whose response body streams into `on_body` as it arrives. The connection and
  // the response header are bounded by options.request_timeout, the body by `body_deadline`
  // (none: unbounded). `on_headers` runs once a 2xx header arrived.
  Result<StreamEnd> stream(const EngineRequest& request, const std::function<void()>& on_headers,
                           const std::function<bool(std::string_view)>& on_body,
                           const std::stop_token& stop,
                           std::optional<std::chrono::milliseconds> body_timeout = {});

  // A hijacked request (attach, exec start): after a 101/200 header the connection carries
  // raw output into `on_body` and `stdin_pipe` (may be null) to the daemon.
  Result<StreamEnd> hijack(const EngineRequest& request, StdinPipe* stdin_pipe,
                           const std::function<void()>& on_headers,
                           const std::function<bool(std::string_view)>& on_body,
                           const std::stop_token& stop);

  // "unix:///var/run/docker.sock" or "tcp://host:port".
  std::string endpoint() const;

 private:
  EngineTransport() = default;

  Result<std::unique_ptr<EngineConnection>> open(std::chrono::steady_clock::time_point deadline);
  // A pooled idle connection (reused set) or a new one.
  Result<std::unique_ptr<EngineConnection>> acquire(std::chrono::steady_clock::time_point deadline,
                                                    bool* reused);
  void release(std::unique_ptr<EngineConnection> conn);
  // Sends the request head and body on `conn`.
  Status send(EngineConnection& conn, const EngineRequest& request, bool upgrade,
              std::optional<std::chrono::steady_clock::time_point> deadline,
              const std::stop_token& stop, bool* write_failed);
  // The start of stream() and hijack(): opens a connection, sends `request` (`upgrade` for a
  // hijack) and reads the answer's header into `parser` by `deadline`. Returns the connection;
  // nullptr with end->cancelled set when `stop` was requested; the transport error otherwise.
  Result<std::unique_ptr<EngineConnection>> start_stream(
      const EngineRequest& request, bool upgrade,
      boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
      std::chrono::steady_clock::time_point deadline, const std::stop_token& stop, StreamEnd* end);
  // Unavailable naming the daemon, the request and the cause.
  Status transport_error(const EngineRequest& request, const std::string& what,
                         const error_code& ec) const;

  EngineOptions options_;
  EngineEndpoint endpoint_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::string host_header_;
  std::mutex mu_;
  std::vector<std::unique_ptr<EngineConnection>> idle_;  // guarded by mu_
};

// "GET", "POST", ...
const char* http_method_name(HttpMethod method);

}  // namespace cenv::docker
