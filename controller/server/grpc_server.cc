#include "controller/server/grpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "api/environment_secrets.h"
#include "api/grpc_status.h"
#include "api/limits.h"
#include "api/version.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "controller/server/watch_server.h"

namespace cenv {

namespace {

Propagation parse_propagation(const std::string& p) {
  if (p == "foreground") return Propagation::kForeground;
  if (p == "orphan") return Propagation::kOrphan;
  return Propagation::kBackground;
}

}  // namespace

class GrpcServer::Service final : public v1::Cenv::WithAsyncMethod_Watch<v1::Cenv::Service> {
 public:
  Service(ApiService& api, const GrpcServerOptions& options)
      : api_(api), options_(options), gate_(options.gate) {}

  const CallGate& gate() const { return gate_; }

  // Logs and counts the outcome of one call and maps it to gRPC.
  grpc::Status finish(const char* call, const Status& s,
                      std::chrono::steady_clock::time_point start) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (options_.metrics) options_.metrics->observe_call(call, s.code(), elapsed);
    if (options_.after_call) options_.after_call();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    if (s.ok()) {
      spdlog::debug("{} ok in {} us", call, us);
    } else {
      spdlog::info("{} failed ({}) in {} us: {}", call, code_name(s.code()), us,
                   s.message().substr(0, 500));
    }
    return to_grpc(s);
  }

  // Answers every client, whatever its identity, so that it can say which identity it meets;
  // every other call is refused on a mismatch.
  grpc::Status Hello(grpc::ServerContext* ctx, const v1::HelloRequest*,
                     v1::HelloResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    resp->set_identity(gate_.identity_for(*ctx));
    resp->set_server_version(api::version_string());
    resp->set_store(options_.store_description);
    resp->set_pid(getpid());
    resp->set_socket(options_.unix_socket);
    LeadershipInfo lead = options_.leadership ? options_.leadership() : LeadershipInfo{};
    resp->set_replica(lead.replica);
    resp->set_leader(lead.leader);
    resp->set_leading(lead.leading);
    return finish("Hello", Status::Ok(), start);
  }

  grpc::Status Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* req,
                     v1::ApplyResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    std::vector<ApplyItem> items;
    items.reserve(req->objects_size());
    for (const auto& o : req->objects()) {
      auto obj = Object::from_json(o.json());
      if (!obj.ok()) return finish("Apply", obj.status().with_prefix(o.source()), start);
      items.push_back({std::move(obj.value()), o.source()});
    }
    auto caller = gate_.admit(*ctx);
    if (!caller.ok()) return finish("Apply", caller.status(), start);
    // Every object, as the caller's right to apply it; pruning deletes in those namespaces.
    // Rights follow verb, kind and namespace (and an Environment's name, its namespace): each
    // such combination is asked once, not once per object (every ask reads the store's revision).
    std::set<std::tuple<Verb, std::string_view, std::string_view, std::string_view>> asked;
    for (const ApplyItem& item : items) {
      for (Verb verb : {Verb::kApply, Verb::kDelete}) {
        if (verb == Verb::kDelete && !req->prune()) continue;
        const std::string_view kind = item.object.kind();
        if (!asked
                 .emplace(verb, kind, item.object.ns(),
                          kind == "Environment" ? item.object.name() : std::string_view())
                 .second) {
          continue;
        }
        Access access = access_for(verb, std::string(item.object.kind()),
                                   std::string(item.object.ns()), std::string(item.object.name()));
        if (Status allowed = gate_.authorize(*caller, access); !allowed.ok()) {
          return finish("Apply", allowed.with_prefix(item.source), start);
        }
      }
    }
    ApplyOptions options;
    if (!req->field_manager().empty()) options.field_manager = req->field_manager();
    options.dry_run = req->dry_run();
    options.force = req->force();
    options.applyset = req->applyset();
    options.prune = req->prune();
    options.create_only = req->create_only();
    options.caller = std::move(caller).value();
    if (options.prune && options.applyset.empty()) {
      return finish("Apply", Status::Invalid("prune needs an applyset: --applyset=NAME"), start);
    }
    std::vector<SourceArchive> archives;
    archives.reserve(req->archives_size());
    for (const auto& a : req->archives()) archives.push_back({a.digest(), a.data()});
    auto outcomes = api_.apply(std::move(items), options, std::move(archives));
    if (!outcomes.ok()) return finish("Apply", outcomes.status(), start);
    for (const auto& out : outcomes.value()) {
      v1::ApplyResult* r = resp->add_results();
      r->set_kind(std::string(out.object.kind()));
      r->set_namespace_(std::string(out.object.ns()));
      r->set_name(std::string(out.object.name()));
      r->set_action(out.action);
      if (!req->names_only()) r->set_json(to_client_json(out.object, out.changed_secrets));
    }
    return finish("Apply", Status::Ok(), start);
  }

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                   v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    if (auto caller =
            gate_.admit(*ctx, access_for(Verb::kGet, req->kind(), req->namespace_(), req->name()));
        !caller.ok()) {
      return finish("Get", caller.status(), start);
    }
    auto obj = api_.get(req->kind(), req->namespace_(), req->name());
    if (obj.ok()) resp->set_json(to_client_json(obj.value()));
    return finish("Get", obj.status(), start);
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                    v1::ListResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto caller = gate_.admit(*ctx, access_for(Verb::kList, req->kind(), req->namespace_(), ""));
    if (!caller.ok()) return finish("List", caller.status(), start);
    auto list = api_.list(req->kind(), req->namespace_(), req->label_selector());
    if (list.ok()) {
      for (const auto& item : list->items) {
        if (gate_.may_read(*caller, item)) resp->add_items(to_client_json(item));
      }
      resp->set_resource_version(std::to_string(list->revision));
    }
    return finish("List", list.status(), start);
  }

  grpc::Status Update(grpc::ServerContext* ctx, const v1::WriteRequest* req,
                      v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto obj = Object::from_json(req->json());
    if (!obj.ok()) return finish("Update", obj.status(), start);
    auto caller = gate_.admit(*ctx, access_for(Verb::kUpdate, std::string(obj->kind()),
                                               std::string(obj->ns()), std::string(obj->name())));
    if (!caller.ok()) return finish("Update", caller.status(), start);
    auto stored =
        api_.update(std::move(obj.value()),
                    req->field_manager().empty() ? "cenv" : req->field_manager(), caller.value());
    if (stored.ok()) resp->set_json(to_client_json(stored.value()));
    return finish("Update", stored.status(), start);
  }

  grpc::Status UpdateStatus(grpc::ServerContext* ctx, const v1::WriteRequest* req,
                            v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto obj = Object::from_json(req->json());
    if (!obj.ok()) return finish("UpdateStatus", obj.status(), start);
    auto caller = gate_.admit(*ctx, access_for(Verb::kUpdateStatus, std::string(obj->kind()),
                                               std::string(obj->ns()), std::string(obj->name())));
    if (!caller.ok()) return finish("UpdateStatus", caller.status(), start);
    auto stored = api_.update_status(std::move(obj.value()), caller.value());
    if (stored.ok()) resp->set_json(to_client_json(stored.value()));
    return finish("UpdateStatus", stored.status(), start);
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteRequest* req,
                      v1::DeleteResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto caller =
        gate_.admit(*ctx, access_for(Verb::kDelete, req->kind(), req->namespace_(), req->name()));
    if (!caller.ok()) return finish("Delete", caller.status(), start);
    int64_t rv = parse_resource_version(req->resource_version());
    if (rv < 0) {
      return finish("Delete", Status::Invalid("resourceVersion: must be an integer"), start);
    }
    const std::string& p = req->propagation();
    if (!p.empty() && p != "background" && p != "foreground" && p != "orphan") {
      return finish("Delete",
                    Status::Invalid("propagation: Unsupported value: \"" + p +
                                    "\": supported values: \"background\", \"foreground\", "
                                    "\"orphan\""),
                    start);
    }
    auto deleted = api_.remove(req->kind(), req->namespace_(), req->name(), rv,
                               parse_propagation(req->propagation()), caller.value());
    if (deleted.ok()) {
      for (const auto& o : deleted.value()) resp->add_deleted(to_client_json(o));
    }
    return finish("Delete", deleted.status(), start);
  }

  grpc::Status Logs(grpc::ServerContext* ctx, const v1::LogsRequest* req,
                    grpc::ServerWriter<v1::LogFrame>* writer) override {
    auto start = std::chrono::steady_clock::now();
    if (auto caller =
            gate_.admit(*ctx, access_for(Verb::kLogs, req->kind(), req->namespace_(), req->name()));
        !caller.ok()) {
      return finish("Logs", caller.status(), start);
    }
    if (!options_.logs) return finish("Logs", Status::Unavailable("logs are not served"), start);
    LogsQuery query{req->kind(), req->namespace_(), req->name(), req->follow(), req->since_bytes()};
    const bool timestamps = req->timestamps();
    Status s = options_.logs->stream(
        query,
        [&](const LogFrame& f) {
          v1::LogFrame out;
          out.set_stream(log_stream_name(f.stream));
          if (timestamps || f.end) {
            out.set_timestamp_unix_nano(
                std::chrono::duration_cast<std::chrono::nanoseconds>(f.time.time_since_epoch())
                    .count());
          }
          out.set_data(f.data);
          out.set_offset(f.offset);
          out.set_end(f.end);
          out.set_exit_code(f.exit_code);
          out.set_phase(f.phase);
          return writer->Write(out);
        },
        [ctx] { return ctx->IsCancelled(); });
    return finish("Logs", s, start);
  }

  grpc::Status Stdin(grpc::ServerContext* ctx, grpc::ServerReader<v1::StdinChunk>* reader,
                     v1::StdinResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    if (auto caller = gate_.admit(*ctx); !caller.ok()) {
      return finish("Stdin", caller.status(), start);
    }
    if (!options_.logs) return finish("Stdin", Status::Unavailable("stdin is not served"), start);
    v1::StdinChunk chunk;
    if (!reader->Read(&chunk))
      return finish("Stdin", Status::Invalid("stdin: no run named"), start);
    if (auto caller = gate_.admit(
            *ctx, access_for(Verb::kRun, "CommandRun", chunk.namespace_(), chunk.name()));
        !caller.ok()) {
      return finish("Stdin", caller.status(), start);
    }
    const std::string run = chunk.namespace_() + "/" + chunk.name();
    auto pipe = options_.logs->stdin_pipe(chunk.namespace_(), chunk.name());
    if (!pipe.ok()) return finish("Stdin", pipe.status(), start);
    int64_t bytes = 0;
    do {
      if (!chunk.data().empty()) {
        if (!(*pipe)->write(chunk.data())) {
          (*pipe)->close();
          return finish("Stdin",
                        Status::ResourceExhausted(
                            "stdin of CommandRun " + run + ": the process has not read " +
                            std::to_string(kMaxPendingStdinBytes) + " bytes of input in " +
                            std::to_string(kStdinWaitSeconds) + " s"),
                        start);
        }
        bytes += static_cast<int64_t>(chunk.data().size());
      }
      if (chunk.eof()) break;
    } while (reader->Read(&chunk));
    // End of input, whether the client said so or went away.
    (*pipe)->close();
    resp->set_bytes(bytes);
    return finish("Stdin", Status::Ok(), start);
  }

 private:
  // The access a call makes; a namespaced kind without a namespace is in "default", as the
  // API service reads it.
  Access access_for(Verb verb, const std::string& kind, std::string ns, std::string name) const {
    const KindInfo* info = api_.kinds().find(kind);
    const bool namespaced = !info || info->namespaced;
    if (namespaced && ns.empty() && verb != Verb::kList && verb != Verb::kWatch) ns = "default";
    if (!namespaced) ns.clear();
    return Access{verb, info ? info->kind : kind, namespaced, std::move(ns), std::move(name)};
  }

  ApiService& api_;
  const GrpcServerOptions& options_;
  CallGate gate_;
};

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(ApiService& api, WatchHub& hub,
                                                      GrpcServerOptions options) {
  // Debian builds absl without NDEBUG, which leaves absl::Mutex deadlock detection on: every
  // lock gRPC takes then updates a process-wide lock graph (GraphCycles, 2-3 % of the
  // controller's CPU in a 100-watcher fan-out). Nothing here relies on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->options_ = std::move(options);
  server->service_ = std::make_unique<Service>(api, server->options_);
  grpc::ServerBuilder builder;
  // A larger request is refused by gRPC: RESOURCE_EXHAUSTED, "Received message larger than
  // max (N vs. 67108864)". The CLI checks an Apply before it sends (ControllerClient::apply).
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxRequestBytes));
  builder.SetMaxSendMessageSize(64 << 20);
  if (!server->options_.unix_socket.empty()) {
    std::error_code ec;
    std::filesystem::remove(server->options_.unix_socket, ec);  // stale socket of a dead run
    builder.AddListeningPort("unix:" + server->options_.unix_socket,
                             grpc::InsecureServerCredentials());
  }
  if (server->options_.tls) {
    const TlsListenerOptions& tls = *server->options_.tls;
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = tls.ca_pem;
    ssl.pem_key_cert_pairs.push_back({tls.key_pem, tls.certificate_pem});
    builder.AddListeningPort(tls.address, grpc::SslServerCredentials(ssl), &server->tls_port_);
  }
  builder.RegisterService(server->service_.get());
  // Watch is served asynchronously from this queue (WatchServer); the other calls by gRPC's
  // synchronous server threads.
  std::unique_ptr<grpc::ServerCompletionQueue> watch_queue = builder.AddCompletionQueue();
  // Created under a restrictive umask so the socket is never reachable by others, not even
  // for the instant before chmod.
  mode_t old_mask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_mask);
  if (!server->server_ || (server->options_.tls && server->tls_port_ == 0)) {
    std::string where = "unix socket " + server->options_.unix_socket;
    if (server->options_.tls) where += " or TLS address " + server->options_.tls->address;
    return Status::Unavailable("cannot listen on " + where);
  }
  if (!server->options_.unix_socket.empty()) {
    chmod(server->options_.unix_socket.c_str(), 0600);
  }
  WatchStreamOptions watch_options;
  watch_options.bookmark_interval = server->options_.bookmark_interval;
  Service* service = server->service_.get();
  watch_options.admit = [service](const grpc::ServerContext& ctx, const KindInfo& kind,
                                  const std::string& ns) -> Result<WatchStreamOptions::Visible> {
    Access access{Verb::kWatch, kind.kind, kind.namespaced || kind.kind.empty(), ns, ""};
    auto caller = service->gate().admit(ctx, access);
    if (!caller.ok()) return caller.status();
    if (caller->local) return WatchStreamOptions::Visible{};
    const CallGate& gate = service->gate();
    return WatchStreamOptions::Visible([&gate, who = std::move(caller).value()](const Object& o) {
      return gate.may_read(who, o);
    });
  };
  watch_options.fail = [service](const Status& s, std::chrono::steady_clock::time_point start) {
    return service->finish("Watch", s, start);
  };
  server->watches_ = std::make_unique<WatchServer>(
      api, hub, std::move(watch_options),
      [service](grpc::ServerContext* ctx, v1::WatchRequest* req,
                grpc::ServerAsyncWriter<v1::WatchEvent>* writer, grpc::ServerCompletionQueue* cq,
                void* tag) { service->RequestWatch(ctx, req, writer, cq, cq, tag); },
      std::move(watch_queue), server->options_.max_watches_per_client);
  return server;
}

GrpcServer::~GrpcServer() {
  shutdown();
  // The server goes before the queue WatchServer owns.
  server_.reset();
  watches_.reset();
}

void GrpcServer::shutdown() {
  // Open watches end at once (UNAVAILABLE; clients resume): Shutdown would wait for them.
  if (watches_) watches_->end_watches();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (watches_) watches_->stop();
}

void GrpcServer::wait() {
  if (server_) server_->Wait();
}

}  // namespace cenv
