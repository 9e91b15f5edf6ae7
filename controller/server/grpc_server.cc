#include "controller/server/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "api/grpc_status.h"
#include "api/version.h"
#include "cenv/v1/cenv.grpc.pb.h"

namespace cenv {

namespace v1 = ::cenv::v1;

std::string cenv_version_string() {
  return std::string(CENV_VERSION) + " (" + std::string(api::git_commit()) + ")";
}

namespace {

Propagation parse_propagation(const std::string& p) {
  if (p == "foreground") return Propagation::kForeground;
  if (p == "orphan") return Propagation::kOrphan;
  return Propagation::kBackground;
}

int64_t parse_rv(const std::string& s) {
  if (s.empty()) return 0;
  try {
    return std::stoll(s);
  } catch (...) {
    return -1;
  }
}

}  // namespace

class GrpcServer::Service final : public v1::Cenv::Service {
 public:
  Service(ApiService& api, WatchHub& hub, const GrpcServerOptions& options)
      : api_(api), hub_(hub), options_(options) {}

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

  grpc::Status Hello(grpc::ServerContext*, const v1::HelloRequest*,
                     v1::HelloResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    resp->set_server_version(cenv_version_string());
    resp->set_store(options_.store_description);
    resp->set_pid(getpid());
    resp->set_socket(options_.unix_socket);
    return finish("Hello", Status::Ok(), start);
  }

  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* req,
                     v1::ApplyResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    std::vector<ApplyItem> items;
    items.reserve(req->objects_size());
    for (const auto& o : req->objects()) {
      auto obj = Object::from_json(o.json());
      if (!obj.ok()) return finish("Apply", obj.status().with_prefix(o.source()), start);
      items.push_back({std::move(obj.value()), o.source()});
    }
    ApplyOptions options;
    if (!req->field_manager().empty()) options.field_manager = req->field_manager();
    options.dry_run = req->dry_run();
    options.force = req->force();
    options.applyset = req->applyset();
    options.prune = req->prune();
    if (options.prune && options.applyset.empty()) {
      return finish("Apply", Status::Invalid("prune needs an applyset: --applyset=NAME"), start);
    }
    auto outcomes = api_.apply(std::move(items), options);
    if (!outcomes.ok()) return finish("Apply", outcomes.status(), start);
    for (const auto& out : outcomes.value()) {
      v1::ApplyResult* r = resp->add_results();
      r->set_kind(std::string(out.object.kind()));
      r->set_namespace_(std::string(out.object.ns()));
      r->set_name(std::string(out.object.name()));
      r->set_action(out.action);
      r->set_json(out.object.to_json());
    }
    return finish("Apply", Status::Ok(), start);
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* req,
                   v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto obj = api_.get(req->kind(), req->namespace_(), req->name());
    if (obj.ok()) resp->set_json(obj->to_json());
    return finish("Get", obj.status(), start);
  }

  grpc::Status List(grpc::ServerContext*, const v1::ListRequest* req,
                    v1::ListResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto list = api_.list(req->kind(), req->namespace_(), req->label_selector());
    if (list.ok()) {
      for (const auto& item : list->items) resp->add_items(item.to_json());
      resp->set_resource_version(std::to_string(list->revision));
    }
    return finish("List", list.status(), start);
  }

  grpc::Status Update(grpc::ServerContext*, const v1::WriteRequest* req,
                      v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto obj = Object::from_json(req->json());
    if (!obj.ok()) return finish("Update", obj.status(), start);
    auto stored = api_.update(std::move(obj.value()),
                              req->field_manager().empty() ? "cenv" : req->field_manager());
    if (stored.ok()) resp->set_json(stored->to_json());
    return finish("Update", stored.status(), start);
  }

  grpc::Status UpdateStatus(grpc::ServerContext*, const v1::WriteRequest* req,
                            v1::ObjectResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    auto obj = Object::from_json(req->json());
    if (!obj.ok()) return finish("UpdateStatus", obj.status(), start);
    auto stored = api_.update_status(std::move(obj.value()));
    if (stored.ok()) resp->set_json(stored->to_json());
    return finish("UpdateStatus", stored.status(), start);
  }

  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest* req,
                      v1::DeleteResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    int64_t rv = parse_rv(req->resource_version());
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
                               parse_propagation(req->propagation()));
    if (deleted.ok()) {
      for (const auto& o : deleted.value()) resp->add_deleted(o.to_json());
    }
    return finish("Delete", deleted.status(), start);
  }

  grpc::Status Logs(grpc::ServerContext* ctx, const v1::LogsRequest* req,
                    grpc::ServerWriter<v1::LogFrame>* writer) override {
    auto start = std::chrono::steady_clock::now();
    if (!options_.logs) return finish("Logs", Status::Unavailable("logs are not served"), start);
    LogsQuery query{req->kind(), req->namespace_(), req->name(), req->follow(),
                    req->since_bytes()};
    const bool timestamps = req->timestamps();
    Status s = options_.logs->stream(
        query,
        [&](const LogFrame& f) {
          v1::LogFrame out;
          out.set_stream(log_stream_name(f.stream));
          if (timestamps || f.end) {
            out.set_timestamp_unix_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            f.time.time_since_epoch())
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

  grpc::Status Stdin(grpc::ServerContext*, grpc::ServerReader<v1::StdinChunk>* reader,
                     v1::StdinResponse* resp) override {
    auto start = std::chrono::steady_clock::now();
    if (!options_.logs) return finish("Stdin", Status::Unavailable("stdin is not served"), start);
    v1::StdinChunk chunk;
    if (!reader->Read(&chunk)) return finish("Stdin", Status::Invalid("stdin: no run named"), start);
    auto pipe = options_.logs->stdin_pipe(chunk.namespace_(), chunk.name());
    if (!pipe.ok()) return finish("Stdin", pipe.status(), start);
    int64_t bytes = 0;
    do {
      if (!chunk.data().empty()) {
        (*pipe)->write(chunk.data());
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
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                     grpc::ServerWriter<v1::WatchEvent>* writer) override {
    auto start = std::chrono::steady_clock::now();
    const KindInfo* info = api_.kinds().find(req->kind());
    if (!info) {
      return finish(
          "Watch",
          Status::NotFound("the server doesn't have a resource type \"" + req->kind() + "\""),
          start);
    }
    auto selector = LabelSelector::parse(req->label_selector());
    if (!selector.ok()) return finish("Watch", selector.status(), start);
    int64_t from = parse_rv(req->resource_version());
    if (from < 0) {
      return finish("Watch", Status::Invalid("resourceVersion: must be an integer"), start);
    }
    WatchFilter filter{info->kind, info->namespaced ? req->namespace_() : "",
                       std::move(selector.value())};
    // Registered first, so nothing committed from here on can be missed.
    auto sub = hub_.subscribe(filter);
    auto send = [&](const char* type, const Object& o, int64_t revision) {
      v1::WatchEvent ev;
      ev.set_type(type);
      Object copy = o;
      if (revision > 0) copy.set_resource_version(revision);
      ev.set_json(copy.to_json());
      return writer->Write(ev);
    };
    int64_t last = from;
    if (from == 0 || req->send_initial_events()) {
      // No version (or asked for): the current objects as ADDED, then changes after the list.
      auto list = api_.list(info->kind, filter.ns, req->label_selector());
      if (!list.ok()) return finish("Watch", list.status(), start);
      if (from == 0 || req->send_initial_events()) {
        for (const Object& o : list->items) {
          if (!send("ADDED", o, 0)) return grpc::Status::OK;
        }
      }
      if (from == 0) last = list->revision;
      if (req->allow_bookmarks()) {
        // Tells the client where the list stands, so it resumes from there.
        Object mark;
        mark.json()["apiVersion"] = kApiVersion;
        mark.json()["kind"] = info->kind;
        if (!send("BOOKMARK", mark, std::max(last, list->revision))) return grpc::Status::OK;
      }
    }
    // Catch up from the store's history up to where the hub took over.
    while (last < sub->start_revision()) {
      auto events = api_.store().events_since(last, 1000);
      if (!events.ok()) return finish("Watch", events.status(), start);
      if (events->empty()) break;
      for (const WatchEvent& e : events.value()) {
        if (e.revision > sub->start_revision()) break;
        last = e.revision;
        if (filter.matches(e.object) && !send(event_type_name(e.type), e.object, e.revision)) {
          return grpc::Status::OK;
        }
      }
    }
    auto quiet_since = std::chrono::steady_clock::now();
    while (!ctx->IsCancelled()) {
      // Events come shared with every other watcher and serialized once (SharedWatchEvent);
      // all but the last of a batch are buffered, so a burst costs one flush, not one each.
      auto events = sub->next_shared(std::chrono::milliseconds(250));
      if (!events.ok()) return finish("Watch", events.status(), start);
      for (size_t i = 0; i < events->size(); ++i) {
        const WatchEvent& e = (*events)[i]->event();
        if (e.revision <= last) continue;
        last = e.revision;
        v1::WatchEvent ev;
        ev.set_type(event_type_name(e.type));
        ev.set_json((*events)[i]->json());
        grpc::WriteOptions write_options;
        if (i + 1 < events->size()) write_options.set_buffer_hint();
        if (!writer->Write(ev, write_options)) return grpc::Status::OK;
      }
      auto now = std::chrono::steady_clock::now();
      if (!events->empty()) {
        quiet_since = now;
      } else if (req->allow_bookmarks() && now - quiet_since >= options_.bookmark_interval) {
        last = std::max(last, hub_.dispatched_revision());
        Object mark;
        mark.json()["apiVersion"] = kApiVersion;
        mark.json()["kind"] = info->kind;
        if (!send("BOOKMARK", mark, last)) return grpc::Status::OK;
        quiet_since = now;
      }
    }
    return grpc::Status::OK;
  }

 private:
  ApiService& api_;
  WatchHub& hub_;
  const GrpcServerOptions& options_;
};

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(ApiService& api, WatchHub& hub,
                                                      GrpcServerOptions options) {
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->options_ = std::move(options);
  server->service_ = std::make_unique<Service>(api, hub, server->options_);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  if (!server->options_.unix_socket.empty()) {
    std::error_code ec;
    std::filesystem::remove(server->options_.unix_socket, ec);  // stale socket of a dead run
    builder.AddListeningPort("unix:" + server->options_.unix_socket,
                             grpc::InsecureServerCredentials());
  }
  builder.RegisterService(server->service_.get());
  // Created under a restrictive umask so the socket is never reachable by others, not even
  // for the instant before chmod.
  mode_t old_mask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_mask);
  if (!server->server_) {
    return Status::Unavailable("cannot listen on unix socket " + server->options_.unix_socket);
  }
  if (!server->options_.unix_socket.empty()) {
    chmod(server->options_.unix_socket.c_str(), 0600);
  }
  return server;
}

GrpcServer::~GrpcServer() { shutdown(); }

void GrpcServer::shutdown() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

void GrpcServer::wait() {
  if (server_) server_->Wait();
}

}  // namespace cenv
