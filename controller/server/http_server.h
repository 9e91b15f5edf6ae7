#pragma once
// HttpServer: the controller's plain HTTP endpoints (Boost.Beast), on a second port:
// GET /healthz (the process answers), /readyz (the store answers), /metrics (Prometheus text),
// POST /hooks/git/<environment> (a Git host's push webhook, see git_webhook.h) and the dashboard
// under /ui/ (dashboard.h), whose streams stay open without holding up other requests.
// One thread serves every connection asynchronously; requests and bodies are bounded (64 KiB,
// a webhook's 1 MiB: more is answered 413).

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/status.h"
#include "controller/server/dashboard.h"
#include "controller/server/git_webhook.h"
#include "controller/server/metrics.h"

namespace cenv {

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // listen address (default loopback only)
  unsigned short port = 0;            // 0: any free port (see HttpServer::port())
  // Ready check for /readyz: Ok when the controller can serve; the message is shown otherwise.
  std::function<Status()> ready;
  // More lines for a ready /readyz after "ok" (who leads the controller replicas); empty: none.
  std::function<std::string()> ready_detail;
  // POST /hooks/git/<environment>: the answer to a webhook call (GitWebhook::handle), run on
  // the server's thread. Empty: /hooks/git/ answers 404.
  std::function<WebhookAnswer(std::string_view environment, const WebhookRequest& request)>
      git_webhook;
  // GET /ui and /ui/...: the dashboard (dashboard.h). Null: /ui/ answers 404. Must outlive
  // the server; the server calls its stop() when it stops.
  Dashboard* dashboard = nullptr;
};

class HttpServer {
 public:
  // Binds and starts serving; Unavailable when the address cannot be bound. `metrics` must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(Metrics& metrics, HttpServerOptions options);
  ~HttpServer();  // stops and joins

  unsigned short port() const { return port_; }

 private:
  struct Impl;
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

}  // namespace cenv
