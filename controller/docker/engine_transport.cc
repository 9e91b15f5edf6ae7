#include "controller/docker/engine_transport.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <utility>

namespace cenv::docker {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Unary answers larger than this are refused (a list of many thousand containers fits).
constexpr uint64_t kMaxResponseBody = 64ull << 20;
// Error answers of streams are read up to this size.
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr size_t kStreamChunk = 64 << 10;

http::verb to_verb(HttpMethod m) {
  switch (m) {
    case HttpMethod::kGet:
      return http::verb::get;
    case HttpMethod::kHead:
      return http::verb::head;
    case HttpMethod::kPost:
      return http::verb::post;
    case HttpMethod::kPut:
      return http::verb::put;
    case HttpMethod::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

template <class Body>
void fill_head(http::request<Body>& r, const EngineRequest& request, const std::string& host,
               bool upgrade) {
  r.method(to_verb(request.method));
  r.target(request.target);
  r.version(11);
  r.set(http::field::host, host);
  r.set(http::field::user_agent, "cenv/" CENV_VERSION);
  for (const auto& [k, v] : request.headers) r.set(k, v);
  if (upgrade) {
    r.set(http::field::connection, "Upgrade");
    r.set(http::field::upgrade, "tcp");
  }
}

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

const char* http_method_name(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
  }
  return "?";
}

Result<std::unique_ptr<EngineTransport>> EngineTransport::create(const EngineOptions& options) {
  auto endpoint = parse_docker_host(options.host, options.tls || options.tls_verify);
  if (!endpoint.ok()) return endpoint.status();
  std::unique_ptr<EngineTransport> t(new EngineTransport());
  t->options_ = options;
  t->endpoint_ = *endpoint;
  t->host_header_ = t->endpoint_.kind == EngineEndpoint::Kind::kUnix
                        ? std::string("docker")
                        : t->endpoint_.host + ":" + t->endpoint_.port;
  if (t->endpoint_.tls) {
    namespace ssl = asio::ssl;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    std::filesystem::path dir = options.cert_path;
    auto load = [&](const char* file, auto&& step) -> Status {
      try {
        step((dir / file).string());
        return Status::Ok();
      } catch (const boost::system::system_error& e) {
        return Status::Invalid("docker TLS: cannot load " + (dir / file).string() + ": " +
                               e.code().message());
      }
    };
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (options.tls_verify) {
      CENV_RETURN_IF_ERROR(load("ca.pem", [&](const std::string& f) { ctx->load_verify_file(f); }));
    } else {
      ctx->set_verify_mode(ssl::verify_none);
    }
    std::error_code fs_ec;
    if (std::filesystem::exists(dir / "cert.pem", fs_ec)) {
      CENV_RETURN_IF_ERROR(
          load("cert.pem", [&](const std::string& f) { ctx->use_certificate_chain_file(f); }));
      CENV_RETURN_IF_ERROR(load("key.pem", [&](const std::string& f) {
        ctx->use_private_key_file(f, ssl::context::pem);
      }));
    }
    t->tls_ = std::move(ctx);
  }
  return t;
}

EngineTransport::~EngineTransport() = default;

std::string EngineTransport::endpoint() const { return endpoint_.to_string(); }

Status EngineTransport::transport_error(const EngineRequest& request, const std::string& what,
                                        const error_code& ec) const {
  return Status::Unavailable("docker at " + endpoint_.to_string() + ": " +
                             http_method_name(request.method) + " " + request.target + ": " + what +
                             ": " + transport_error_text(ec));
}

Result<std::unique_ptr<EngineConnection>> EngineTransport::open(SteadyTime deadline) {
  SteadyTime connect_deadline = std::min(deadline, SteadyClock::now() + options_.connect_timeout);
  return EngineConnection::open(endpoint_, tls_.get(), options_.tls_verify, connect_deadline);
}

Result<std::unique_ptr<EngineConnection>> EngineTransport::acquire(SteadyTime deadline,
                                                                   bool* reused) {
  *reused = false;
  for (;;) {
    std::unique_ptr<EngineConnection> conn;
    {
      std::lock_guard lock(mu_);
      if (idle_.empty()) break;
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    if (conn->reusable()) {
      *reused = true;
      return conn;
    }
  }
  return open(deadline);
}

void EngineTransport::release(std::unique_ptr<EngineConnection> conn) {
  if (!conn->reusable()) return;
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

Status EngineTransport::send(EngineConnection& conn, const EngineRequest& request, bool upgrade,
                             Deadline deadline, const std::stop_token& stop, bool* write_failed) {
  *write_failed = false;
  error_code ec;
  if (!request.body_file.empty()) {
    http::request<http::file_body> r;
    fill_head(r, request, host_header_, upgrade);
    r.body().open(request.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      return Status::Invalid("cannot read " + request.body_file + ": " + ec.message());
    }
    r.set(http::field::content_type, request.content_type);
    r.prepare_payload();
    ec = conn.write(r, deadline, stop);
  } else {
    http::request<http::string_body> r;
    fill_head(r, request, host_header_, upgrade);
    if (!request.body.empty() || request.method == HttpMethod::kPost) {
      r.set(http::field::content_type, request.content_type);
      r.body() = request.body;
    }
    r.prepare_payload();
    ec = conn.write(r, deadline, stop);
  }
  if (ec) {
    *write_failed = true;
    return transport_error(request, "sending the request", ec);
  }
  return Status::Ok();
}

Result<EngineResponse> EngineTransport::roundtrip(const EngineRequest& request,
                                                  std::chrono::milliseconds timeout) {
  const SteadyTime deadline = SteadyClock::now() + timeout;
  const std::stop_token no_stop;
  const bool idempotent = request.method == HttpMethod::kGet || request.method == HttpMethod::kHead;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto conn = acquire(deadline, &reused);
    if (!conn.ok()) return conn.status();
    bool write_failed = false;
    Status sent = send(**conn, request, false, deadline, no_stop, &write_failed);
    if (!sent.ok()) {
      // The daemon closed the idle connection before we wrote: nothing was processed.
      if (reused && write_failed && attempt == 0) continue;
      return sent;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (request.method == HttpMethod::kHead) parser.skip(true);
    error_code ec = (*conn)->read(parser, deadline, no_stop);
    if (ec) {
      bool closed_idle = ec == http::error::end_of_stream || ec == asio::error::eof ||
                         ec == asio::error::connection_reset;
      if (reused && closed_idle && idempotent && attempt == 0) continue;
      if (ec == http::error::body_limit) {
        return Status::Internal("docker at " + endpoint_.to_string() + ": " +
                                http_method_name(request.method) + " " + request.target +
                                ": answer larger than 64 MiB");
      }
      if (ec == asio::error::timed_out) {
        return transport_error(request, "no answer within " + seconds_text(timeout), ec);
      }
      return transport_error(request, "reading the answer", ec);
    }
    EngineResponse response{parser.get().result_int(), std::move(parser.get().body()),
                            std::string(parser.get()["Api-Version"])};
    release(std::move(*conn));
    return response;
  }
}

namespace {

// Reads the rest of an error answer (bounded) into *out.
void read_error_body(EngineConnection& conn, http::response_parser<http::buffer_body>& parser,
                     Deadline deadline, const std::stop_token& stop, std::string* out) {
  char buf[4096];
  while (!parser.is_done() && out->size() < kMaxErrorBody) {
    size_t n = 0;
    if (conn.read_body_some(parser, buf, sizeof buf, &n, deadline, stop)) return;
    out->append(buf, n);
  }
}

}  // namespace

Result<std::unique_ptr<EngineConnection>> EngineTransport::start_stream(
    const EngineRequest& request, bool upgrade, http::response_parser<http::buffer_body>& parser,
    SteadyTime deadline, const std::stop_token& stop, StreamEnd* end) {
  auto conn = open(deadline);
  if (!conn.ok()) return conn.status();
  bool write_failed = false;
  Status sent = send(**conn, request, upgrade, deadline, stop, &write_failed);
  if (stop.stop_requested()) {
    end->cancelled = true;
    return std::unique_ptr<EngineConnection>();
  }
  if (!sent.ok()) return sent;
  parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
  error_code ec = (*conn)->read_header(parser, deadline, stop);
  if (ec) {
    if (stop.stop_requested()) {
      end->cancelled = true;
      return std::unique_ptr<EngineConnection>();
    }
    return transport_error(request,
                           ec == asio::error::timed_out
                               ? "no answer within " + seconds_text(options_.request_timeout)
                               : std::string("reading the answer"),
                           ec);
  }
  return std::move(conn.value());
}

Result<StreamEnd> EngineTransport::stream(const EngineRequest& request,
                                          const std::function<void()>& on_headers,
                                          const std::function<bool(std::string_view)>& on_body,
                                          const std::stop_token& stop,
                                          std::optional<std::chrono::milliseconds> body_timeout) {
  StreamEnd end;
  const SteadyTime setup_deadline = SteadyClock::now() + options_.request_timeout;
  http::response_parser<http::buffer_body> parser;
  auto conn = start_stream(request, false, parser, setup_deadline, stop, &end);
  if (!conn.ok()) return conn.status();
  if (!*conn) return end;  // cancelled
  error_code ec;
  end.status = parser.get().result_int();
  if (end.status >= 300) {
    read_error_body(**conn, parser, setup_deadline, stop, &end.error_body);
    return end;
  }
  if (on_headers) on_headers();

  Deadline body_deadline;
  if (body_timeout) body_deadline = SteadyClock::now() + *body_timeout;
  std::vector<char> buf(kStreamChunk);
  while (!parser.is_done()) {
    size_t n = 0;
    ec = (*conn)->read_body_some(parser, buf.data(), buf.size(), &n, body_deadline, stop);
    if (ec) {
      if (stop.stop_requested()) {
        end.cancelled = true;
        return end;
      }
      if (ec == asio::error::timed_out) {
        return transport_error(request, "not finished within " + seconds_text(*body_timeout), ec);
      }
      return transport_error(request, "reading the stream", ec);
    }
    if (n > 0 && on_body && !on_body(std::string_view(buf.data(), n))) {
      end.stopped = true;
      return end;
    }
  }
  return end;
}

Result<StreamEnd> EngineTransport::hijack(const EngineRequest& request, StdinPipe* stdin_pipe,
                                          const std::function<void()>& on_headers,
                                          const std::function<bool(std::string_view)>& on_body,
                                          const std::stop_token& stop) {
  StreamEnd end;
  const SteadyTime setup_deadline = SteadyClock::now() + options_.request_timeout;
  http::response_parser<http::buffer_body> parser;
  auto conn = start_stream(request, true, parser, setup_deadline, stop, &end);
  if (!conn.ok()) return conn.status();
  if (!*conn) return end;  // cancelled
  error_code ec;
  end.status = parser.get().result_int();
  if (end.status != 101 && end.status != 200) {
    read_error_body(**conn, parser, setup_deadline, stop, &end.error_body);
    return end;
  }
  if (on_headers) on_headers();
  bool stopped = false;
  ec = (*conn)->pump_hijacked(stdin_pipe, on_body, stop, &stopped);
  end.stopped = stopped;
  if (ec) {
    if (stop.stop_requested()) {
      end.cancelled = true;
      return end;
    }
    return transport_error(request, "reading the stream", ec);
  }
  return end;
}

}  // namespace cenv::docker
