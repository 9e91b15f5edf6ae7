// The dashboard over a real HTTP server (port 0): its page and headers, the Host check, watch
// streams that replay from a revision and follow commits, the cap on open streams, a client
// that falls behind dropped, and a run's output as a log stream.

#include "controller/server/dashboard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "api/environment_secrets.h"
#include "api/yaml_reader.h"
#include "controller/server/http_server.h"
#include "controller/server/metrics.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using namespace std::chrono_literals;

// A raw client: sends one GET and reads what comes, so that a stream can be read as it flows.
class RawClient {
 public:
  RawClient(unsigned short port, const std::string& target, const std::string& host = "127.0.0.1",
            int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    timeval tv{0, 100'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    REQUIRE(send(fd_, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  }
  ~RawClient() { close(fd_); }

  // Reads until `needle` has arrived (true) or the peer closed or `limit` passed (false).
  bool read_until(std::string_view needle, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (text_.find(needle) == std::string::npos) {
      if (closed_ || std::chrono::steady_clock::now() > deadline) return false;
      read_some();
    }
    return true;
  }
  // Reads until the peer closes; false past `limit`.
  bool read_to_end(std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      read_some();
    }
    return true;
  }
  const std::string& text() const { return text_; }

 private:
  void read_some() {
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) text_.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      closed_ = true;
    }
  }
  int fd_ = -1;
  std::string text_;
  bool closed_ = false;
};

struct Served {
  explicit Served(DashboardOptions options = {}, LogsService* logs = nullptr)
      : dashboard(*f.api, *f.hub, logs, options) {
    HttpServerOptions http;
    http.dashboard = &dashboard;
    auto started = HttpServer::start(metrics, http);
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
  void apply(const std::string& yaml) {
    auto docs = parse_manifest(yaml, "test.yaml");
    REQUIRE(docs.ok());
    std::vector<ApplyItem> items;
    for (auto& d : docs.value()) items.push_back({Object(d.value.as_object()), "test.yaml"});
    auto r = f.api->apply(std::move(items), {});
    INFO(r.status().message());
    REQUIRE(r.ok());
  }
  unsigned short port() const { return server->port(); }

  testing::ApiFixture f;
  Metrics metrics;
  Dashboard dashboard;
  std::unique_ptr<HttpServer> server;
};

std::string service_yaml(const std::string& name, const std::string& note = "x") {
  return "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: default, annotations: {note: \"" + note +
         "\"}}\nspec: {command: [sleep, '1000']}\n";
}

TEST_CASE("the dashboard serves its page with a content security policy", "[dashboard]") {
  Served s;
  RawClient page(s.port(), "/ui/");
  REQUIRE(page.read_to_end());
  CHECK(page.text().starts_with("HTTP/1.1 200"));
  CHECK(page.text().find("Content-Security-Policy: default-src 'self'") != std::string::npos);
  CHECK(page.text().find("X-Content-Type-Options: nosniff") != std::string::npos);
  CHECK(page.text().find("<script src=\"app.js\"") != std::string::npos);

  RawClient script(s.port(), "/ui/app.js");
  REQUIRE(script.read_to_end());
  CHECK(script.text().find("Content-Type: text/javascript") != std::string::npos);

  RawClient redirect(s.port(), "/ui");
  REQUIRE(redirect.read_to_end());
  CHECK(redirect.text().starts_with("HTTP/1.1 301"));
  CHECK(redirect.text().find("Location: /ui/") != std::string::npos);

  RawClient missing(s.port(), "/ui/nope.js");
  REQUIRE(missing.read_to_end());
  CHECK(missing.text().starts_with("HTTP/1.1 404"));
}

TEST_CASE("the dashboard answers only to an IP address or localhost as Host", "[dashboard]") {
  CHECK(dashboard_host_allowed("127.0.0.1:8080"));
  CHECK(dashboard_host_allowed("localhost:1"));
  CHECK(dashboard_host_allowed("[::1]:80"));
  CHECK(dashboard_host_allowed("10.1.2.3"));
  CHECK_FALSE(dashboard_host_allowed("evil.example:8080"));
  CHECK_FALSE(dashboard_host_allowed("localhost.evil.example"));
  CHECK_FALSE(dashboard_host_allowed(""));

  Served s;
  RawClient page(s.port(), "/ui/", "rebound.example:1234");
  REQUIRE(page.read_to_end());
  CHECK(page.text().starts_with("HTTP/1.1 403"));
  RawClient watch(s.port(), "/ui/api/watch?kinds=svc", "rebound.example:1234");
  REQUIRE(watch.read_to_end());
  CHECK(watch.text().starts_with("HTTP/1.1 403"));
}

TEST_CASE("a watch stream replays from a revision and then sends each commit as it happens",
          "[dashboard]") {
  Served s;
  s.apply(service_yaml("before"));
  auto revision = s.f.store->revision();
  REQUIRE(revision.ok());
  s.apply(service_yaml("between"));  // after the "list", before the watch: must not be missed
  RawClient watch(s.port(), "/ui/api/watch?kinds=Service&namespace=default&resourceVersion=" +
                                std::to_string(revision.value()));
  REQUIRE(watch.read_until("event: ready\n"));
  CHECK(watch.text().starts_with("HTTP/1.1 200"));
  CHECK(watch.text().find("Content-Type: text/event-stream") != std::string::npos);
  // From the history, or from the hub when it had not dispatched it yet.
  REQUIRE(watch.read_until("\"name\":\"between\""));
  CHECK(watch.text().find("\"name\":\"before\"") == std::string::npos);

  s.apply(service_yaml("after"));
  REQUIRE(watch.read_until("\"name\":\"after\""));
  CHECK(watch.text().find("event: change\nid: ") != std::string::npos);
  CHECK(watch.text().find("data: {\"type\":\"ADDED\",\"object\":{") != std::string::npos);

  // Other kinds and other names are not sent.
  RawClient named(s.port(), "/ui/api/watch?kinds=Service&name=only&resourceVersion=0");
  REQUIRE(named.read_until("event: ready\n"));
  CHECK(named.text().find("\"name\":\"before\"") == std::string::npos);
  s.apply(service_yaml("only"));
  REQUIRE(named.read_until("\"name\":\"only\""));
  CHECK(s.dashboard.open_streams() == 2);
}

TEST_CASE("a watch stream of an Environment shows its secrets redacted", "[dashboard]") {
  Served s;
  RawClient watch(s.port(), "/ui/api/watch?kinds=Environment");
  REQUIRE(watch.read_until("event: ready\n"));
  s.apply(
      "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: shop}\n"
      "spec: {secrets: {token: hunter2-watch}}\n");
  REQUIRE(watch.read_until("\"name\":\"shop\""));
  REQUIRE(watch.read_until("\n\n"));
  CHECK(watch.text().find("hunter2-watch") == std::string::npos);
  CHECK(watch.text().find(kRedactedSecret) != std::string::npos);
}

TEST_CASE("a watch over a WebSocket sends JSON arrays of events from the page's own origin only",
          "[dashboard]") {
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  DashboardOptions options;
  options.heartbeat = 100ms;  // so that a read never waits long
  Served s(options);
  const std::string host = "127.0.0.1:" + std::to_string(s.port());
  auto open = [&](const std::string& origin) {
    boost::asio::io_context io;
    websocket::stream<boost::asio::ip::tcp::socket> ws(io);
    ws.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), s.port()});
    ws.set_option(websocket::stream_base::decorator(
        [origin](websocket::request_type& req) { req.set(beast::http::field::origin, origin); }));
    beast::error_code ec;
    ws.handshake(host, "/ui/api/watch?kinds=Service&resourceVersion=0", ec);
    if (ec) return std::string("refused");
    std::string text;
    // The history comes before "ready"; what the hub had not dispatched yet comes after it.
    for (int i = 0; i < 50 && (text.find("\"event\":\"ready\"") == std::string::npos ||
                               text.find("\"name\":\"web\"") == std::string::npos);
         ++i) {
      beast::flat_buffer buffer;
      ws.read(buffer, ec);
      if (ec) break;
      text += beast::buffers_to_string(buffer.data());
      // Every message is a JSON array of events (a heartbeat is an empty one).
      REQUIRE(boost::json::parse(beast::buffers_to_string(buffer.data())).is_array());
    }
    return text;
  };
  s.apply(service_yaml("web"));
  std::string own = open("http://" + host);
  CHECK(own.find("{\"event\":\"change\",\"id\":\"") != std::string::npos);
  CHECK(own.find("\"name\":\"web\"") != std::string::npos);
  CHECK(own.find("\"event\":\"ready\"") != std::string::npos);
  CHECK(open("http://evil.example") == "refused");
  // A client gone is noticed: its stream and subscriptions go.
  for (int i = 0; i < 100 && s.dashboard.open_streams() != 0; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(s.dashboard.open_streams() == 0);
}

TEST_CASE("streams past the cap are answered 503 and bad queries 400", "[dashboard]") {
  DashboardOptions options;
  options.max_streams = 1;
  Served s(options);
  RawClient first(s.port(), "/ui/api/watch?kinds=Service");
  REQUIRE(first.read_until("event: ready\n"));
  RawClient second(s.port(), "/ui/api/watch?kinds=Service");
  REQUIRE(second.read_to_end());
  CHECK(second.text().starts_with("HTTP/1.1 503"));
  CHECK(second.text().find("too many dashboard streams") != std::string::npos);

  DashboardOptions roomy;
  Served t(roomy);
  RawClient bad(t.port(), "/ui/api/watch?kinds=Secret");
  REQUIRE(bad.read_to_end());
  CHECK(bad.text().starts_with("HTTP/1.1 400"));
  RawClient version(t.port(), "/ui/api/watch?kinds=svc&resourceVersion=x1");
  REQUIRE(version.read_to_end());
  CHECK(version.text().starts_with("HTTP/1.1 400"));
}

TEST_CASE("a watch client that falls too far behind is dropped", "[dashboard]") {
  DashboardOptions options;
  options.stream_buffer_bytes = 64 * 1024;
  Served s(options);
  // A client that never reads, with a small receive buffer: the server's queue fills.
  RawClient slow(s.port(), "/ui/api/watch?kinds=Service", "127.0.0.1", 4096);
  std::this_thread::sleep_for(200ms);
  const std::string big(60000, 'z');
  for (int i = 0; i < 300 && s.dashboard.dropped_streams() == 0; ++i) {
    s.apply(service_yaml("svc" + std::to_string(i % 20), big + std::to_string(i)));
    if (i % 20 == 19) std::this_thread::sleep_for(20ms);
  }
  for (int i = 0; i < 100 && s.dashboard.dropped_streams() == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(s.dashboard.dropped_streams() == 1);
  for (int i = 0; i < 100 && s.dashboard.open_streams() != 0; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(s.dashboard.open_streams() == 0);
}

TEST_CASE("a log stream sends the stored output of a run as JSON events and then eof",
          "[dashboard]") {
  // The logs service needs the fixture's API: a second server with its own dashboard.
  Served s;
  testing::ApiFixture* fixture = &s.f;
  LogHub hub(*fixture->store);
  LogsService logs(*fixture->api, hub, nullptr);
  Dashboard with_logs(*fixture->api, *fixture->hub, &logs);
  HttpServerOptions http;
  http.dashboard = &with_logs;
  Metrics metrics;
  auto server = HttpServer::start(metrics, http);
  REQUIRE(server.ok());

  s.apply(
      "apiVersion: cenv.io/v1\nkind: CommandRun\nmetadata: {name: job, namespace: default}\n"
      "spec: {command: ['true']}\n");
  auto run = fixture->api->get("CommandRun", "default", "job");
  REQUIRE(run.ok());
  LogPiece out{LogStream::kStdout, 1, std::chrono::system_clock::now(), "hello <b>\n"};
  LogPiece err{LogStream::kStderr, 1, std::chrono::system_clock::now(), "bad \xFF byte\n"};
  REQUIRE(hub.append(std::string(run->uid()), std::vector<LogPiece>{out, err}).ok());

  RawClient stream(server.value()->port(),
                   "/ui/api/logs?kind=CommandRun&namespace=default&name=job&follow=0");
  REQUIRE(stream.read_to_end());
  INFO(stream.text());
  CHECK(stream.text().find(
            "event: log\nid: 10\ndata: {\"stream\":\"stdout\",\"offset\":0,\"next\":10,"
            "\"data\":\"hello <b>\\n\"}\n\n") != std::string::npos);
  CHECK(stream.text().find("\"stream\":\"stderr\"") != std::string::npos);
  CHECK(stream.text().find("bad \xEF\xBF\xBD byte") != std::string::npos);
  CHECK(stream.text().find("event: eof\n") != std::string::npos);

  RawClient missing(server.value()->port(), "/ui/api/logs?kind=CommandRun&name=nope&follow=0");
  REQUIRE(missing.read_to_end());
  CHECK(missing.text().find("event: failure\n") != std::string::npos);
  server.value().reset();
  with_logs.stop();
}

}  // namespace
}  // namespace cenv
