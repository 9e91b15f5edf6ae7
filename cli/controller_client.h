#pragma once
// ControllerClient: the CLI's connection to a controller. For the local context it talks over the
// unix socket and starts a controller in the background when none answers (DESIGN section 1);
// for a remote one over TCP with mutual TLS. Every call carries the client's image identity
// (metadata "cenv-identity") and has a deadline; errors come back as Status (gRPC codes mapped
// by api/grpc_status).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "cli/home.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace cenv::v1 {
class ApplyRequest;
class ApplyResponse;
class HelloResponse;
}  // namespace cenv::v1

namespace cenv::cli {

// Where a client dials and what it presents (Context builds it).
struct Endpoint {
  std::string context;  // the context's name, for messages ("local", "prod")
  std::string target;   // gRPC target: "unix:/path", "ipv4:HOST:PORT" or "HOST:PORT"
  std::string server;   // HOST:PORT as the context names it, for messages (remote only)
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string identity;  // the image identity sent with every call
  bool local = true;     // the local controller: may be autostarted, is found by its socket
};

struct ClientOptions {
  bool autostart = true;             // start a local controller when none answers (default on)
  std::chrono::seconds timeout{60};  // per-call deadline (default 60 s)
};

// Invalid when `request` is larger than the controller receives (kMaxRequestBytes), naming
// both sizes: checked before sending, so that the user reads why rather than gRPC's
// "Received message larger than max".
Status check_request_size(const v1::ApplyRequest& request);

class ControllerClient {
 public:
  // Leaves the connection open until the process exits: closing a gRPC channel takes a
  // dozen hand-offs between gRPC's threads (ms of wall time on a loaded machine) just before
  // the CLI exits anyway. A command makes a handful of clients, so a handful stay open.
  ~ControllerClient();

  Result<v1::HelloResponse> hello();
  Result<v1::ApplyResponse> apply(const v1::ApplyRequest& request);
  Result<Object> get(const std::string& kind, const std::string& ns, const std::string& name);
  // Returns the items and the list's resourceVersion.
  Result<std::pair<std::vector<Object>, std::string>> list(const std::string& kind,
                                                           const std::string& ns,
                                                           const std::string& selector);
  // Returns every object deleted or left terminating, the target first. `propagation`:
  // "background" (default), "foreground" or "orphan".
  Result<std::vector<Object>> remove(const std::string& kind, const std::string& ns,
                                     const std::string& name,
                                     const std::string& propagation = "background");
  // Replaces an object (edit, patch) as `field_manager`; Conflict on a stale resourceVersion.
  Result<Object> update(const Object& object, const std::string& field_manager);

  // Receives one watch event ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"), in order, once per
  // event even when the server sent several in one message; return false to stop.
  using WatchHandler = std::function<bool(const std::string& type, const Object& object)>;
  // Watches `kind` from `resource_version` ("" = the current objects as ADDED first, then
  // changes). Runs until `on_event` returns false (Ok) or an error the watch cannot survive.
  // Only its first call may start the local controller. When the controller goes away it waits
  // (says so once on stderr) until one answers, never starting one, and resumes from the last
  // version seen (relists when that is compacted). Past `deadline`: Unavailable("timed out").
  Status watch(const std::string& kind, const std::string& ns, const std::string& selector,
               std::string resource_version, const WatchHandler& on_event,
               std::chrono::system_clock::time_point deadline =
                   std::chrono::system_clock::time_point::max());

  // After the controller went away: Ok once one answers Hello again, never starting one (a stop
  // the user asked for stays done); says once on stderr that it waits, unless `said_waiting`,
  // which it then sets. Unavailable("timed out") past `deadline`; Ok at once when `cancelled`
  // (checked every 200 ms) says so.
  Status await_controller(std::chrono::system_clock::time_point deadline, bool& said_waiting,
                          const std::function<bool()>& cancelled = {});

  // A fresh channel to the controller, for verbs that drive streaming calls themselves (logs,
  // run). Call hello() first, so a local controller is started when none answers.
  std::shared_ptr<grpc::Channel> channel();

 private:
  friend class Context;  // builds every client (Context::connect)
  // Connects lazily: nothing is dialled until the first call.
  ControllerClient(Home home, Endpoint endpoint, ClientOptions options);
  // Runs `call`; when the controller is not there and autostart is on, starts it and retries.
  template <typename F>
  Status with_controller(F&& call);

  struct Connection;  // the gRPC channel and stub, dialled on first use
  Connection& connection();
  // Whether a controller answers Hello at the endpoint within `deadline`.
  bool answers(std::chrono::milliseconds deadline);
  // Unavailable saying which controller cannot be reached, and why (`grpc_message`).
  Status unreachable(const std::string& grpc_message) const;

  Home home_;
  Endpoint endpoint_;
  ClientOptions options_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace cenv::cli
