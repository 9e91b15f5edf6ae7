#include "controller/docker/engine_connection.h"

#include <openssl/ssl.h>
#include <poll.h>

#include <string>
#include <utility>

namespace cenv::docker {

namespace {

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::string EngineEndpoint::to_string() const {
  if (kind == Kind::kUnix) return "unix://" + path;
  if (host.find(':') != std::string::npos) return "tcp://[" + host + "]:" + port;
  return "tcp://" + host + ":" + port;
}

Result<EngineEndpoint> parse_docker_host(std::string_view docker_host, bool tls) {
  EngineEndpoint ep;
  std::string_view rest = docker_host;
  if (rest.starts_with("unix://")) {
    rest.remove_prefix(7);
    if (rest.empty() || rest.front() != '/') {
      return Status::Invalid(
          "DOCKER_HOST " + std::string(docker_host) +
          ": a unix socket needs an absolute path (unix:///var/run/docker.sock)");
    }
    ep.kind = EngineEndpoint::Kind::kUnix;
    ep.path = std::string(rest);
    return ep;
  }
  if (rest.starts_with("/")) {
    ep.kind = EngineEndpoint::Kind::kUnix;
    ep.path = std::string(rest);
    return ep;
  }
  if (rest.starts_with("tcp://")) {
    rest.remove_prefix(6);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    ep.kind = EngineEndpoint::Kind::kTcp;
    ep.tls = tls;
    std::string_view port;
    if (rest.starts_with("[")) {
      auto close = rest.find(']');
      if (close == std::string_view::npos) {
        return Status::Invalid("DOCKER_HOST " + std::string(docker_host) + ": unclosed '['");
      }
      ep.host = std::string(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      if (rest.starts_with(":")) port = rest.substr(1);
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      ep.host = std::string(rest.substr(0, colon));
      port = rest.substr(colon + 1);
    } else {
      ep.host = std::string(rest);
    }
    if (ep.host.empty()) {
      return Status::Invalid("DOCKER_HOST " + std::string(docker_host) + ": missing host");
    }
    if (!port.empty() && port.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::Invalid("DOCKER_HOST " + std::string(docker_host) + ": bad port");
    }
    ep.port = port.empty() ? (tls ? "2376" : "2375") : std::string(port);
    return ep;
  }
  return Status::Invalid("DOCKER_HOST " + std::string(docker_host) +
                         ": unsupported; use unix:///path or tcp://host:port");
}

std::string transport_error_text(const error_code& ec) {
  if (ec == asio::error::timed_out) return "timed out";
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == boost::system::errc::no_such_file_or_directory) return "no such socket";
  if (ec == boost::system::errc::permission_denied) return "permission denied";
  if (ec == asio::error::eof || ec == http::error::end_of_stream) {
    return "connection closed by the daemon";
  }
  if (ec == asio::error::connection_reset) return "connection reset by the daemon";
  if (ec == asio::error::operation_aborted) return "cancelled";
  return ec.message();
}

Result<std::unique_ptr<EngineConnection>> EngineConnection::open(const EngineEndpoint& endpoint,
                                                                 asio::ssl::context* tls,
                                                                 bool verify_host,
                                                                 SteadyTime deadline) {
  std::unique_ptr<EngineConnection> conn(new EngineConnection());
  const std::stop_token no_stop;
  auto unavailable = [&](const std::string& what, const error_code& ec) {
    return Status::Unavailable("docker is not running at " + endpoint.to_string() + ": " +
                               (what.empty() ? "" : what + ": ") + transport_error_text(ec));
  };
  if (endpoint.kind == EngineEndpoint::Kind::kUnix) {
    auto socket = std::make_unique<UnixSocket>(conn->ioc_);
    UnixSocket* s = socket.get();
    conn->stream_ = std::move(socket);
    error_code ec = conn->run(
        [&](auto handler) {
          s->async_connect(asio::local::stream_protocol::endpoint(endpoint.path), handler);
        },
        deadline, no_stop);
    if (ec) return unavailable("", ec);
    return conn;
  }

  asio::ip::tcp::resolver resolver(conn->ioc_);
  asio::ip::tcp::resolver::results_type addresses;
  error_code ec = conn->run(
      [&](auto handler) {
        resolver.async_resolve(
            endpoint.host, endpoint.port,
            [handler, &addresses](error_code e, asio::ip::tcp::resolver::results_type r) {
              addresses = std::move(r);
              handler(e);
            });
      },
      deadline, no_stop);
  if (ec) return unavailable("resolving " + endpoint.host, ec);

  TcpSocket* tcp = nullptr;
  TlsStream* tls_stream = nullptr;
  if (endpoint.tls) {
    if (tls == nullptr) return Status::Internal("TLS endpoint without a TLS context");
    auto stream = std::make_unique<TlsStream>(conn->ioc_, *tls);
    tls_stream = stream.get();
    tcp = &stream->next_layer();
    conn->stream_ = std::move(stream);
  } else {
    auto socket = std::make_unique<TcpSocket>(conn->ioc_);
    tcp = socket.get();
    conn->stream_ = std::move(socket);
  }
  ec = conn->run(
      [&](auto handler) {
        asio::async_connect(
            *tcp, addresses,
            [handler](error_code e, const asio::ip::tcp::endpoint&) { handler(e); });
      },
      deadline, no_stop);
  if (ec) return unavailable("", ec);
  error_code ignored;
  tcp->set_option(asio::ip::tcp::no_delay(true), ignored);

  if (tls_stream != nullptr) {
    if (!is_ip_address(endpoint.host)) {
      SSL_set_tlsext_host_name(tls_stream->native_handle(), endpoint.host.c_str());
    }
    if (verify_host) {
      tls_stream->set_verify_mode(asio::ssl::verify_peer);
      tls_stream->set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
    }
    ec = conn->run(
        [&](auto handler) { tls_stream->async_handshake(asio::ssl::stream_base::client, handler); },
        deadline, no_stop);
    if (ec) {
      return Status::Unavailable("TLS handshake with docker at " + endpoint.to_string() +
                                 " failed: " + transport_error_text(ec));
    }
  }
  return conn;
}

EngineConnection::~EngineConnection() = default;

error_code EngineConnection::read(http::response_parser<http::string_body>& parser,
                                  Deadline deadline, const std::stop_token& stop) {
  error_code ec = run(
      [&](auto handler) {
        visit_stream([&](auto& s) { http::async_read(s, buffer_, parser, std::move(handler)); });
      },
      deadline, stop);
  if (ec) {
    broken_ = true;
  } else {
    keep_alive_ = parser.keep_alive();
  }
  return ec;
}

error_code EngineConnection::read_header(http::response_parser<http::buffer_body>& parser,
                                         Deadline deadline, const std::stop_token& stop) {
  error_code ec = run(
      [&](auto handler) {
        visit_stream(
            [&](auto& s) { http::async_read_header(s, buffer_, parser, std::move(handler)); });
      },
      deadline, stop);
  if (ec) broken_ = true;
  return ec;
}

error_code EngineConnection::read_body_some(http::response_parser<http::buffer_body>& parser,
                                            char* buf, size_t capacity, size_t* n,
                                            Deadline deadline, const std::stop_token& stop) {
  *n = 0;
  if (parser.is_done()) return {};
  auto& body = parser.get().body();
  body.data = buf;
  body.size = capacity;
  error_code ec = run(
      [&](auto handler) {
        visit_stream(
            [&](auto& s) { http::async_read_some(s, buffer_, parser, std::move(handler)); });
      },
      deadline, stop);
  if (ec == http::error::need_buffer) ec = {};
  *n = capacity - body.size;
  if (ec) {
    broken_ = true;
  } else if (parser.is_done()) {
    keep_alive_ = parser.keep_alive();
  }
  return ec;
}

error_code EngineConnection::pump_hijacked(StdinPipe* stdin_pipe,
                                           const std::function<bool(std::string_view)>& on_bytes,
                                           const std::stop_token& stop, bool* stopped) {
  // The connection belongs to the stream from here on.
  broken_ = true;
  *stopped = false;
  if (buffer_.size() > 0) {
    auto data = buffer_.data();
    std::string_view first(static_cast<const char*>(data.data()), data.size());
    bool go_on = on_bytes(first);
    buffer_.consume(buffer_.size());
    if (!go_on) {
      *stopped = true;
      return {};
    }
  }
  if (stop.stop_requested()) return asio::error::operation_aborted;

  struct State {
    bool reading = false;
    bool read_done = false;
    bool writing = false;
    bool stdin_closed = false;  // the pipe reported close()
    bool eof_sent = false;
    bool finished = false;  // no new operations once the stream is over
    error_code read_error;
    std::string pending;  // taken from the pipe, not yet written
    std::string in_flight;
    char buf[16384];
  } st;

  std::function<void()> start_read;
  std::function<void()> pump_stdin;
  start_read = [&] {
    st.reading = true;
    visit_stream([&](auto& s) {
      s.async_read_some(asio::buffer(st.buf), [&](error_code ec, size_t n) {
        st.reading = false;
        if (n > 0 && !st.finished) {
          if (!on_bytes(std::string_view(st.buf, n))) {
            *stopped = true;
            st.read_done = true;
            return;
          }
        }
        if (ec) {
          if (ec != asio::error::eof) st.read_error = ec;
          st.read_done = true;
          return;
        }
        if (!st.finished) start_read();
      });
    });
  };
  pump_stdin = [&] {
    if (st.finished || st.writing || st.eof_sent || stdin_pipe == nullptr) return;
    if (stdin_pipe->take(&st.pending)) st.stdin_closed = true;
    if (!st.pending.empty()) {
      st.writing = true;
      st.in_flight.swap(st.pending);
      st.pending.clear();
      visit_stream([&](auto& s) {
        asio::async_write(s, asio::buffer(st.in_flight), [&](error_code ec, size_t) {
          st.writing = false;
          st.in_flight.clear();
          if (ec) {
            st.eof_sent = true;  // the daemon stopped reading stdin; output may still come
            return;
          }
          pump_stdin();
        });
      });
    } else if (st.stdin_closed) {
      shutdown_send();
      st.eof_sent = true;
    }
  };

  ioc_.restart();
  start_read();
  if (stdin_pipe != nullptr) {
    stdin_pipe->set_listener(
        [this, &pump_stdin] { asio::post(ioc_, [&pump_stdin] { pump_stdin(); }); });
  }
  {
    std::stop_callback on_stop(stop, [this] { asio::post(ioc_, [this] { cancel(); }); });
    while (!st.read_done) {
      if (ioc_.run_one() == 0) break;
    }
  }
  st.finished = true;
  if (stdin_pipe != nullptr) stdin_pipe->set_listener(nullptr);
  cancel();
  ioc_.restart();
  while (st.reading || st.writing) {
    if (ioc_.run_one() == 0) break;
  }
  ioc_.poll();
  if (st.read_error == asio::error::operation_aborted && stop.stop_requested()) {
    return asio::error::operation_aborted;
  }
  return st.read_error;
}

bool EngineConnection::reusable() {
  if (broken_ || !keep_alive_ || buffer_.size() > 0) return false;
  // Idle and still open: nothing to read (readable means EOF or stray bytes).
  pollfd p{native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

void EngineConnection::cancel() {
  visit_stream([](auto& s) {
    error_code ignored;
    beast::get_lowest_layer(s).cancel(ignored);
  });
}

void EngineConnection::shutdown_send() {
  if (auto* unix_socket = std::get_if<std::unique_ptr<UnixSocket>>(&stream_)) {
    error_code ignored;
    (*unix_socket)->shutdown(asio::socket_base::shutdown_send, ignored);
  } else if (auto* tcp_socket = std::get_if<std::unique_ptr<TcpSocket>>(&stream_)) {
    error_code ignored;
    (*tcp_socket)->shutdown(asio::socket_base::shutdown_send, ignored);
  }
  // TLS: a half-close would need a close_notify without waiting for the peer's; not sent.
}

int EngineConnection::native_handle() {
  return visit_stream([](auto& s) { return beast::get_lowest_layer(s).native_handle(); });
}

}  // namespace cenv::docker
