#pragma once
// GrpcServer: serves the cenv.v1.Cenv gRPC API (api/proto/cenv/v1) over ApiService, on the
// local unix socket (mode 0600, no TLS) and, when asked, on a TCP port with mutual TLS. Every
// call passes the CallGate first (image identity, caller).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/limits.h"
#include "api/status.h"
#include "controller/server/api_service.h"
#include "controller/server/call_gate.h"
#include "controller/server/logs_service.h"
#include "controller/server/metrics.h"
#include "controller/server/watch_hub.h"

namespace grpc {
class Server;
}

namespace cenv {

class WatchServer;

// A TCP listener with mutual TLS: clients must present a certificate signed by the CA.
struct TlsListenerOptions {
  std::string address;          // "HOST:PORT"; port 0 picks a free one
  std::string ca_pem;           // the CA certificate client certificates must chain to
  std::string certificate_pem;  // the server's certificate
  std::string key_pem;          // and its private key
};

// Who leads the controller replicas sharing the store, as Hello tells it.
struct LeadershipInfo {
  std::string replica;  // this replica's identity in the election ("" without one)
  std::string leader;   // the leader's identity ("" unknown, or without an election)
  bool leading = true;  // this replica runs the reconcilers
};

struct GrpcServerOptions {
  std::string unix_socket;  // path of the local socket; empty: none
  // The TCP listener; none when unset (default).
  std::optional<TlsListenerOptions> tls;
  // Who may call, with which image identity (call_gate.h). Default: local callers, any identity.
  CallGateOptions gate;
  std::string store_description;  // shown by Hello ("sqlite:/home/u/.cenv/cenv.db")
  // Who leads, for Hello; empty (default): this controller alone, leading.
  std::function<LeadershipInfo()> leadership;
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
  // Starts serving; Unavailable when the socket or the TCP address cannot be bound. `api` and
  // `hub` must outlive the server.
  static Result<std::unique_ptr<GrpcServer>> start(ApiService& api, WatchHub& hub,
                                                   GrpcServerOptions options);
  ~GrpcServer();

  // The TCP port the TLS listener is bound to; 0 without one.
  int tls_port() const { return tls_port_; }

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
  int tls_port_ = 0;
};

}  // namespace cenv
