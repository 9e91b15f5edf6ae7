#pragma once
// GrpcServer: serves the cenv.v1.Cenv gRPC API (api/proto/cenv/v1) over ApiService, on the
// local unix socket (mode 0600, no TLS).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/limits.h"
#include "api/status.h"
#include "controller/server/api_service.h"
#include "controller/server/logs_service.h"
#include "controller/server/metrics.h"
#include "controller/server/watch_hub.h"

namespace grpc {
class Server;
}

namespace cenv {

class WatchServer;

struct GrpcServerOptions {
  std::string unix_socket;        // path of the local socket; empty: none
  std::string store_description;  // shown by Hello ("sqlite:/home/u/.cenv/cenv.db")
  // Where call counts and latencies go; nullptr: nowhere (default).
  Metrics* metrics = nullptr;
  // A watch with allow_bookmarks gets a BOOKMARK after this long without events (default 5 s).
  std::chrono::milliseconds bookmark_interval{5000};
  // Serves Logs and Stdin; nullptr (default): they answer UNAVAILABLE. Must outlive the server.
  LogsService* logs = nullptr;
  // Called when any call finishes (the controller's HeapTrimmer: a large request, even one
  // that wrote nothing, leaves freed heap behind); empty (default): nothing. Thread-safe.
  std::function<void()> after_call;
  // Watch calls one client may have open at once (default kMaxWatchesPerClient, 64).
  size_t max_watches_per_client = kMaxWatchesPerClient;
};

class GrpcServer {
 public:
  // Starts serving; Unavailable when the socket cannot be bound. `api` and `hub` must outlive
  // the server.
  static Result<std::unique_ptr<GrpcServer>> start(ApiService& api, WatchHub& hub,
                                                   GrpcServerOptions options);
  ~GrpcServer();

  // Stops accepting calls and cancels running ones; returns when all handlers are done.
  // Thread-safe; idempotent.
  void shutdown();
  // Blocks until shutdown() completes.
  void wait();

 private:
  class Service;
  GrpcServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<WatchServer> watches_;  // serves Watch; stopped after server_ shuts down
  GrpcServerOptions options_;
};

}  // namespace cenv
