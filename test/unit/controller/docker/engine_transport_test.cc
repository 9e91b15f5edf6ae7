// EngineTransport against a scripted HTTP server on a unix socket in a temp dir: keep-alive
// reuse, chunked streaming, timeouts, cancellation and hijacked streams, without dockerd.

#include "controller/docker/engine_transport.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace cenv::docker {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Writes all of `data`; false when the peer went away.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one request (head and Content-Length body); empty at EOF.
std::string read_request(int fd) {
  std::string data;
  char buf[4096];
  size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {};
    data.append(buf, static_cast<size_t>(n));
  }
  size_t length = 0;
  if (auto cl = data.find("Content-Length: "); cl != std::string::npos && cl < head_end) {
    length = std::stoul(data.substr(cl + 16));
  }
  while (data.size() < head_end + 4 + length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// A unix-socket server running `handler` on each accepted connection, in a thread of its own.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> handler) : handler_(std::move(handler)) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("cenv-transport-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "docker.sock").string();
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    acceptor_ = std::thread([this] {
      for (;;) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        ++accepted_;
        std::lock_guard lock(mu_);
        fds_.push_back(fd);
        workers_.emplace_back([this, fd] { handler_(fd); });
      }
    });
  }
  ~ScriptedServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& w : workers_) w.join();
    for (int fd : fds_) ::close(fd);
    std::filesystem::remove_all(dir_);
  }

  std::string host() const { return "unix://" + path_; }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int)> handler_;
  std::filesystem::path dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

std::unique_ptr<EngineTransport> transport_to(const ScriptedServer& server,
                                              std::chrono::milliseconds request_timeout = 5s) {
  EngineOptions o;
  o.host = server.host();
  o.request_timeout = request_timeout;
  auto t = EngineTransport::create(o);
  REQUIRE(t.ok());
  return std::move(*t);
}

constexpr const char* kOk =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    "Api-Version: 1.41\r\nContent-Length: 2\r\n\r\n{}";

TEST_CASE("EngineTransport reuses one keep-alive connection for unary calls") {
  ScriptedServer server([](int fd) {
    while (!read_request(fd).empty()) {
      if (!write_all(fd, kOk)) return;
    }
  });
  auto t = transport_to(server);
  for (int i = 0; i < 20; ++i) {
    auto r = t->roundtrip(EngineRequest(HttpMethod::kGet, "/v1.41/containers/x/json"), 5s);
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "{}");
    CHECK(r->api_version == "1.41");
  }
  CHECK(server.accepted() == 1);
}

TEST_CASE("EngineTransport replaces a connection the daemon closed while idle") {
  ScriptedServer server([](int fd) {
    if (!read_request(fd).empty()) write_all(fd, kOk);
    ::shutdown(fd, SHUT_RDWR);  // one request per connection, without saying so
  });
  auto t = transport_to(server);
  // GET: whether the client sees the close before writing (the connection is not reused) or
  // only when reading (a reused idempotent request is retried once), every call succeeds.
  // A POST is not retried after it was written, as Go's net/http does not; the server's
  // close racing the next write makes that case timing-dependent, so it is not tested here.
  for (int i = 0; i < 5; ++i) {
    INFO("request " << i);
    REQUIRE(t->roundtrip(EngineRequest(HttpMethod::kGet, "/v1.41/containers/x/json"), 5s).ok());
  }
  CHECK(server.accepted() == 5);
}

TEST_CASE("EngineTransport bounds a call the daemon never answers") {
  ScriptedServer server([](int fd) {
    read_request(fd);
    char c;
    ::recv(fd, &c, 1, 0);  // until the client gives up
  });
  auto t = transport_to(server);
  auto begin = SteadyClock::now();
  auto r = t->roundtrip(EngineRequest(HttpMethod::kGet, "/v1.41/info"), 200ms);
  CHECK(SteadyClock::now() - begin < 2s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK_THAT(r.status().message(), Catch::Contains("GET /v1.41/info: no answer within 200ms"));
}

TEST_CASE("EngineTransport streams chunked bodies as they arrive") {
  std::promise<void> first_seen;
  auto first_seen_future = first_seen.get_future();
  std::atomic<bool> second_sent{false};
  ScriptedServer server([&](int fd) {
    read_request(fd);
    write_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n");
    // The rest only once the client has seen the first chunk: a client that waited for more
    // bytes would stall here until the timeout.
    bool seen = first_seen_future.wait_for(5s) == std::future_status::ready;
    second_sent = true;
    write_all(fd, seen ? "7\r\nsecond\n\r\n0\r\n\r\n" : "0\r\n\r\n");
  });
  auto t = transport_to(server);
  std::vector<std::string> chunks;
  bool headers = false;
  auto end = t->stream(
      EngineRequest(HttpMethod::kGet, "/v1.41/events"), [&] { headers = true; },
      [&](std::string_view bytes) {
        if (chunks.empty()) {
          CHECK_FALSE(second_sent);
          first_seen.set_value();
        }
        chunks.emplace_back(bytes);
        return true;
      },
      {});
  REQUIRE(end.ok());
  CHECK(headers);
  CHECK(end->status == 200);
  CHECK_FALSE(end->cancelled);
  CHECK(chunks == std::vector<std::string>{"first\n", "second\n"});
}

TEST_CASE("EngineTransport cancels a silent stream through its stop_token") {
  ScriptedServer server([](int fd) {
    read_request(fd);
    write_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    char c;
    ::recv(fd, &c, 1, 0);
  });
  auto t = transport_to(server);
  std::stop_source stop;
  std::promise<void> subscribed;
  auto end_future = std::async(std::launch::async, [&] {
    return t->stream(
        EngineRequest(HttpMethod::kGet, "/v1.41/events"), [&] { subscribed.set_value(); },
        [](std::string_view) { return true; }, stop.get_token());
  });
  subscribed.get_future().wait();
  auto begin = SteadyClock::now();
  stop.request_stop();
  auto end = end_future.get();
  CHECK(SteadyClock::now() - begin < 1s);
  REQUIRE(end.ok());
  CHECK(end->cancelled);
}

TEST_CASE("EngineTransport returns a stream's error answer for the caller to map") {
  ScriptedServer server([](int fd) {
    read_request(fd);
    write_all(fd,
              "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 40\r\n"
              "\r\n{\"message\":\"No such container: nope\"}\n\n");
  });
  auto t = transport_to(server);
  bool headers = false;
  auto end = t->stream(
      EngineRequest(HttpMethod::kGet, "/v1.41/containers/nope/logs"), [&] { headers = true; },
      [](std::string_view) { return true; }, {});
  REQUIRE(end.ok());
  CHECK_FALSE(headers);
  CHECK(end->status == 404);
  CHECK(end->error_body == "{\"message\":\"No such container: nope\"}\n\n");
}

TEST_CASE("EngineTransport hijack carries stdin to the daemon and half-closes it") {
  std::string request_head;
  ScriptedServer server([&](int fd) {
    request_head = read_request(fd);
    write_all(fd,
              "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
              "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello:");
    // Echo stdin until the client half-closes it, then end the stream.
    char buf[256];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      write_all(fd, std::string_view(buf, static_cast<size_t>(n)));
    }
    write_all(fd, ":eof");
    ::shutdown(fd, SHUT_WR);
  });
  auto t = transport_to(server);
  StdinPipe pipe;
  pipe.write("abc");
  std::string received;
  std::thread writer;
  auto end = t->hijack(
      EngineRequest(HttpMethod::kPost, "/v1.41/containers/x/attach?stream=1&stdin=1"), &pipe,
      [&] {
        writer = std::thread([&pipe] {
          pipe.write("def");
          pipe.close();
        });
      },
      [&](std::string_view bytes) {
        received.append(bytes);
        return true;
      },
      {});
  writer.join();
  REQUIRE(end.ok());
  CHECK(end->status == 101);
  CHECK(received == "hello:abcdef:eof");
  CHECK_THAT(request_head, Catch::Contains("Upgrade: tcp"));
  CHECK_THAT(request_head, Catch::Contains("Connection: Upgrade"));
}

TEST_CASE("EngineTransport names the socket when the daemon is not there") {
  EngineOptions o;
  o.host = "unix:///nonexistent/docker.sock";
  auto t = EngineTransport::create(o);
  REQUIRE(t.ok());
  auto r = (*t)->roundtrip(EngineRequest(HttpMethod::kGet, "/_ping"), 1s);
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message() ==
        "docker is not running at unix:///nonexistent/docker.sock: no such socket");
}

}  // namespace
}  // namespace cenv::docker
