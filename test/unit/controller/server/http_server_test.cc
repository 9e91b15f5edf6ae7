// HttpServer over a real socket (port 0): the Git webhook route's status codes and bounds, and
// the plain endpoints' methods.

#include "controller/server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>

namespace cenv {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
  std::string allow;
};

// Sends `req` to 127.0.0.1:`port` and reads the answer.
Reply send(unsigned short port, http::request<http::string_body> req) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.expires_after(std::chrono::seconds(10));
  req.set(http::field::host, "127.0.0.1");
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  http::read(stream, buffer, parser);
  Reply r{static_cast<int>(parser.get().result_int()), parser.get().body(), ""};
  if (auto it = parser.get().find(http::field::allow); it != parser.get().end()) {
    r.allow = std::string(it->value());
  }
  return r;
}

http::request<http::string_body> request(http::verb verb, const std::string& target,
                                         std::string body = "") {
  http::request<http::string_body> req{verb, target, 11};
  req.body() = std::move(body);
  return req;
}

struct Calls {
  std::mutex mu;
  std::vector<std::pair<std::string, WebhookRequest>> seen;  // guarded by mu
  size_t count() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

struct Server {
  Metrics metrics;
  Calls calls;
  std::unique_ptr<HttpServer> server;

  explicit Server(bool with_webhook = true) {
    HttpServerOptions options;
    if (with_webhook) {
      options.git_webhook = [this](std::string_view env, const WebhookRequest& r) {
        std::lock_guard lock(calls.mu);
        calls.seen.emplace_back(std::string(env), r);
        return WebhookAnswer{env == "shop" ? 202 : 404, "answer for " + std::string(env)};
      };
    }
    auto started = HttpServer::start(metrics, options);
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
  unsigned short port() const { return server->port(); }
};

TEST_CASE("POST /hooks/git/<env> hands the raw body and both headers to the webhook",
          "[http][webhook]") {
  Server s;
  auto req = request(http::verb::post, "/hooks/git/shop?from=github", "{\"ref\":\"main\"}");
  req.set("X-Hub-Signature-256", "sha256=abc");
  req.set("X-Gitlab-Token", "tok");
  Reply r = send(s.port(), req);
  CHECK(r.status == 202);
  CHECK(r.body == "answer for shop\n");
  REQUIRE(s.calls.count() == 1);
  const auto& [env, call] = s.calls.seen.front();
  CHECK(env == "shop");
  CHECK(call.body == "{\"ref\":\"main\"}");
  CHECK(call.hub_signature == std::optional<std::string>("sha256=abc"));
  CHECK(call.gitlab_token == std::optional<std::string>("tok"));

  Reply missing = send(s.port(), request(http::verb::post, "/hooks/git/other", "{}"));
  CHECK(missing.status == 404);
  REQUIRE(s.calls.count() == 2);
  CHECK_FALSE(s.calls.seen.back().second.hub_signature.has_value());
  CHECK_FALSE(s.calls.seen.back().second.gitlab_token.has_value());
}

TEST_CASE("the webhook route takes POST only, and bodies up to 1 MiB", "[http][webhook]") {
  Server s;
  for (http::verb verb : {http::verb::get, http::verb::put, http::verb::delete_}) {
    INFO(http::to_string(verb));
    Reply r = send(s.port(), request(verb, "/hooks/git/shop"));
    CHECK(r.status == 405);
    CHECK(r.allow == "POST");
  }
  // Past the 64 KiB of the other routes, within the webhook's 1 MiB.
  Reply big = send(s.port(), request(http::verb::post, "/hooks/git/shop",
                                     std::string(kMaxWebhookBodyBytes, 'x')));
  CHECK(big.status == 202);
  Reply too_big = send(s.port(), request(http::verb::post, "/hooks/git/shop",
                                         std::string(kMaxWebhookBodyBytes + 1, 'x')));
  CHECK(too_big.status == 413);
  CHECK(s.calls.count() == 1);  // the GETs, PUTs and the refused body never reached it
}

TEST_CASE("without a webhook handler /hooks/git/ is not found and other routes keep GET",
          "[http][webhook]") {
  Server s(false);
  CHECK(send(s.port(), request(http::verb::post, "/hooks/git/shop", "{}")).status == 404);
  CHECK(send(s.port(), request(http::verb::get, "/healthz")).status == 200);
  Reply post = send(s.port(), request(http::verb::post, "/healthz"));
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");
  // A body past 64 KiB on another route is refused.
  CHECK(send(s.port(), request(http::verb::get, "/healthz", std::string(65 * 1024, 'x'))).status ==
        413);
}

}  // namespace
}  // namespace cenv
