#include "cli/controller_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "api/grpc_status.h"
#include "api/limits.h"
#include "api/version.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "cli/controller_process.h"

namespace cenv::cli {

struct ControllerClient::Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Cenv::Stub> stub;
};

ControllerClient::ControllerClient(Home home, Endpoint endpoint, ClientOptions options)
    : home_(std::move(home)), endpoint_(std::move(endpoint)), options_(options) {}

namespace {

// The metadata key of the client's image identity (controller/server/call_gate.h).
constexpr const char* kIdentityMetadataKey = "cenv-identity";

// Adds the client's image identity to every call of a channel, streaming ones included.
class IdentityInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit IdentityInterceptor(const std::string& identity) : identity_(identity) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({kIdentityMetadataKey, identity_});
    }
    methods->Proceed();
  }

 private:
  const std::string& identity_;  // owned by the factory, which the channel keeps
};

class IdentityInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit IdentityInterceptorFactory(std::string identity) : identity_(std::move(identity)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new IdentityInterceptor(identity_);
  }

 private:
  std::string identity_;
};

// A channel to `endpoint` whose calls carry its identity.
std::shared_ptr<grpc::Channel> dial(const Endpoint& endpoint, const grpc::ChannelArguments& args) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<IdentityInterceptorFactory>(endpoint.identity));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      endpoint.target, endpoint.credentials, args, std::move(factories));
}

// Channels of destroyed ControllerClients, open until the process exits. Never destroyed (and
// reachable, so leak checkers do not report them).
struct KeptChannels {
  std::mutex mu;
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // guarded by mu
};

KeptChannels& kept_channels() {
  static auto* kept = new KeptChannels();
  return *kept;
}

}  // namespace

ControllerClient::~ControllerClient() {
  if (!conn_) return;
  KeptChannels& kept = kept_channels();
  std::lock_guard lock(kept.mu);
  kept.channels.push_back(std::move(conn_->channel));
}

ControllerClient::Connection& ControllerClient::connection() {
  if (!conn_) {
    conn_ = std::make_unique<Connection>();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(256 << 20);
    args.SetMaxSendMessageSize(256 << 20);
    conn_->channel = dial(endpoint_, args);
    conn_->stub = v1::Cenv::NewStub(conn_->channel);
  }
  return *conn_;
}

Status ControllerClient::unreachable(const std::string& grpc_message) const {
  if (endpoint_.local) {
    return Status::Unavailable("cannot reach the local controller at " + home_.socket().string() +
                               " (is it running? `cenv controller start`): " + grpc_message);
  }
  std::string hint;
  if (grpc_message.find("andshake") != std::string::npos) {
    hint =
        " (mutual TLS failed: the controller's certificate must be issued by this context's CA "
        "for its host name, and the controller must trust the CA of this context's client "
        "certificate)";
  }
  return Status::Unavailable("cannot reach the controller of context \"" + endpoint_.context +
                             "\" at " + endpoint_.server + ": " + grpc_message + hint);
}

template <typename F>
Status ControllerClient::with_controller(F&& call) {
  const bool autostart = options_.autostart && endpoint_.local;
  if (!autostart || std::filesystem::exists(home_.socket())) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    grpc::Status s = call(ctx, *connection().stub);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || !autostart) {
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return unreachable(s.error_message());
      return from_grpc(s);
    }
  }
  // Nobody answers: start the local controller, then try once more.
  if (running_controller_pid(home_) == 0) {
    auto pid = start_local_controller(home_, std::chrono::seconds(30));
    if (!pid.ok()) return pid.status();
    fprintf(stderr, "cenv: started the local controller (pid %d, log %s)\n", pid.value(),
            home_.log_file().c_str());
  } else if (!controller_answers(home_, std::chrono::seconds(10))) {
    return Status::Unavailable("the local controller (pid " +
                               std::to_string(running_controller_pid(home_)) +
                               ") does not answer on " + home_.socket().string());
  }
  conn_.reset();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  return from_grpc(call(ctx, *connection().stub));
}

std::shared_ptr<grpc::Channel> ControllerClient::channel() {
  conn_.reset();
  return connection().channel;
}

Result<v1::HelloResponse> ControllerClient::hello() {
  v1::HelloRequest req;
  req.set_client_version(std::string(CENV_VERSION) + " (" + std::string(api::git_commit()) + ")");
  req.set_identity(endpoint_.identity);
  v1::HelloResponse resp;
  Status s = with_controller(
      [&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) { return stub.Hello(&ctx, req, &resp); });
  if (!s.ok()) return s;
  return resp;
}

Status check_request_size(const v1::ApplyRequest& request) {
  size_t bytes = request.ByteSizeLong();
  if (bytes <= kMaxRequestBytes) return Status::Ok();
  return Status::Invalid(
      "the request is " + std::to_string(bytes) + " bytes, larger than the controller's limit of " +
      std::to_string(kMaxRequestBytes) + " bytes (" + std::to_string(request.objects_size()) +
      " objects, " + std::to_string(request.archives_size()) +
      " module folders): apply the files in several calls");
}

Result<v1::ApplyResponse> ControllerClient::apply(const v1::ApplyRequest& req) {
  v1::ApplyResponse resp;
  Status s = with_controller(
      [&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) { return stub.Apply(&ctx, req, &resp); });
  if (!s.ok()) return s;
  return resp;
}

Result<Object> ControllerClient::get(const std::string& kind, const std::string& ns,
                                     const std::string& name) {
  v1::GetRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_name(name);
  v1::ObjectResponse resp;
  Status s = with_controller(
      [&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) { return stub.Get(&ctx, req, &resp); });
  if (!s.ok()) return s;
  return Object::from_json(resp.json());
}

Result<std::pair<std::vector<Object>, std::string>> ControllerClient::list(
    const std::string& kind, const std::string& ns, const std::string& selector) {
  v1::ListRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_label_selector(selector);
  v1::ListResponse resp;
  Status s = with_controller(
      [&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) { return stub.List(&ctx, req, &resp); });
  if (!s.ok()) return s;
  std::vector<Object> items;
  items.reserve(resp.items_size());
  for (const auto& j : resp.items()) {
    auto o = Object::from_json(j);
    if (!o.ok()) return o.status();
    items.push_back(std::move(o.value()));
  }
  return std::make_pair(std::move(items), resp.resource_version());
}

Result<Object> ControllerClient::update(const Object& object, const std::string& field_manager) {
  v1::WriteRequest req;
  req.set_json(object.to_json());
  req.set_field_manager(field_manager);
  v1::ObjectResponse resp;
  Status s = with_controller([&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) {
    return stub.Update(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return Object::from_json(resp.json());
}

Result<std::vector<Object>> ControllerClient::remove(const std::string& kind, const std::string& ns,
                                                     const std::string& name,
                                                     const std::string& propagation) {
  v1::DeleteRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_name(name);
  req.set_propagation(propagation);
  v1::DeleteResponse resp;
  Status s = with_controller([&](grpc::ClientContext& ctx, v1::Cenv::Stub& stub) {
    return stub.Delete(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  std::vector<Object> out;
  for (const auto& j : resp.deleted()) {
    auto o = Object::from_json(j);
    if (o.ok()) out.push_back(std::move(o.value()));
  }
  return out;
}

bool ControllerClient::answers(std::chrono::milliseconds deadline) {
  conn_.reset();  // the old channel may hold a broken connection
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::HelloRequest req;
  req.set_identity(endpoint_.identity);
  v1::HelloResponse resp;
  return connection().stub->Hello(&ctx, req, &resp).ok();
}

Status ControllerClient::await_controller(std::chrono::system_clock::time_point deadline,
                                          bool& said_waiting,
                                          const std::function<bool()>& cancelled) {
  for (;;) {
    if (cancelled && cancelled()) return Status::Ok();
    if (answers(std::chrono::milliseconds(500))) return Status::Ok();
    if (!said_waiting) {
      if (endpoint_.local) {
        fprintf(stderr, "cenv: the local controller stopped; waiting for it to start again\n");
      } else {
        fprintf(stderr, "cenv: the controller of context \"%s\" at %s does not answer; waiting\n",
                endpoint_.context.c_str(), endpoint_.server.c_str());
      }
      said_waiting = true;
    }
    if (std::chrono::system_clock::now() >= deadline) return Status::Unavailable("timed out");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status ControllerClient::watch(const std::string& kind, const std::string& ns,
                               const std::string& selector, std::string resource_version,
                               const WatchHandler& on_event,
                               std::chrono::system_clock::time_point deadline) {
  // Only the first connection may start the local controller (autostart). Once the watch
  // runs, a controller that goes away was stopped (or crashed): a watch left running must not
  // undo a `cenv controller stop`, so later connections only wait for one to answer.
  if (auto hi = hello(); !hi.ok()) return hi.status();
  bool said_waiting = false;  // the wait for the controller was announced (this outage)
  for (;;) {
    if (std::chrono::system_clock::now() >= deadline) return Status::Unavailable("timed out");
    v1::WatchRequest req;
    req.set_kind(kind);
    req.set_namespace_(ns);
    req.set_label_selector(selector);
    req.set_resource_version(resource_version);
    req.set_allow_bookmarks(true);
    req.set_allow_batches(true);  // read below: an event, then its `more`
    grpc::ClientContext ctx;
    if (deadline != std::chrono::system_clock::time_point::max()) ctx.set_deadline(deadline);
    // This process is one client for the controller's kMaxWatchesPerClient.
    ctx.AddMetadata(kClientMetadataKey, std::to_string(getpid()));
    auto reader = connection().stub->Watch(&ctx, req);
    v1::WatchEvent ev;
    bool stopped = false;
    bool received = false;
    // Hands one event to on_event; false once it asked to stop.
    auto deliver = [&](const v1::WatchEvent& e) {
      received = true;
      auto obj = Object::from_json(e.json());
      if (!obj.ok()) return true;
      if (obj->resource_version() > 0) resource_version = std::to_string(obj->resource_version());
      return on_event(e.type(), obj.value());
    };
    while (!stopped && reader->Read(&ev)) {
      stopped = !deliver(ev);
      for (int i = 0; !stopped && i < ev.more_size(); ++i) stopped = !deliver(ev.more(i));
    }
    if (stopped) ctx.TryCancel();
    grpc::Status s = reader->Finish();
    if (stopped) return Status::Ok();
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return Status::Unavailable("timed out");
    }
    if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      resource_version.clear();  // gone: relist
      continue;
    }
    if (s.ok() || s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::CANCELLED) {
      // The controller went away: resume from the last version seen once one answers again.
      // A stream that delivered nothing (a controller still stopping) is the same outage.
      if (received) said_waiting = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      CENV_RETURN_IF_ERROR(await_controller(deadline, said_waiting));
      continue;
    }
    return from_grpc(s);
  }
}

}  // namespace cenv::cli
