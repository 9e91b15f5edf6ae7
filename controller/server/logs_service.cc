#include "controller/server/logs_service.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "api/display_text.h"
#include "api/limits.h"

namespace cenv {

namespace json = boost::json;

bool is_finished_run_phase(std::string_view phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Cancelled";
}

// ---------------------------------------------------------------------------------------------
// LogsService

namespace {

std::string run_phase(const Object& run) {
  const json::object* status = run.status_or_null();
  return status ? std::string(Object::str_field(*status, "phase")) : std::string();
}

// status.build.attempt and status.build.result of an Environment (0 and "" without a build).
int build_attempt(const Object& env) {
  const json::object* status = env.status_or_null();
  const json::value* b = status ? status->if_contains("build") : nullptr;
  const json::value* a = b && b->is_object() ? b->get_object().if_contains("attempt") : nullptr;
  return a && a->is_int64() ? static_cast<int>(a->as_int64()) : 0;
}

std::string build_result(const Object& env) {
  const json::object* status = env.status_or_null();
  const json::value* b = status ? status->if_contains("build") : nullptr;
  return b && b->is_object() ? std::string(Object::str_field(b->get_object(), "result")) : "";
}

int run_exit_code(const Object& run) {
  const json::object* status = run.status_or_null();
  if (!status) return 0;
  auto it = status->find("exitCode");
  return it != status->end() && it->value().is_int64() ? static_cast<int>(it->value().as_int64())
                                                       : 0;
}

}  // namespace

LogsService::LogsService(ApiService& api, LogHub& hub, ServiceLogSource service_logs,
                         LogsServiceOptions options)
    : api_(api), hub_(hub), service_logs_(std::move(service_logs)), options_(options) {}

bool send_bounded_frame(const LogFrame& frame, const LogFrameSink& sink) {
  if (frame.data.size() <= kMaxLogChunkBytes) return sink(frame);
  LogFrame piece;
  piece.stream = frame.stream;
  piece.time = frame.time;
  for (size_t at = 0; at < frame.data.size(); at += kMaxLogChunkBytes) {
    piece.data = frame.data.substr(at, kMaxLogChunkBytes);
    piece.offset = frame.offset + static_cast<int64_t>(at);
    if (!sink(piece)) return false;
  }
  return true;
}

Status LogsService::stream(const LogsQuery& query, const LogFrameSink& reader,
                           const std::function<bool()>& cancelled) {
  // Frames that reach the reader are bounded, whatever their source (Docker's log frames of a
  // Service are as long as Docker makes them).
  LogFrameSink sink = [&reader](const LogFrame& f) { return send_bounded_frame(f, reader); };
  if (query.since_bytes < 0) return Status::Invalid("sinceBytes: must not be negative");
  const KindInfo* info = api_.kinds().find(query.kind);
  if (!info) {
    return Status::NotFound("the server doesn't have a resource type \"" +
                            escape_for_display(query.kind) + "\"");
  }
  if (info->kind != "CommandRun" && info->kind != "Service" && info->kind != "Environment") {
    return Status::Invalid("logs: " + info->kind +
                           " has no output; logs are kept for CommandRun, Service and "
                           "Environment (its runtime image's build)");
  }
  auto obj = api_.get(info->kind, query.ns, query.name);
  if (!obj.ok()) return obj.status();
  if (info->kind == "Service") {
    if (!service_logs_) return Status::Unavailable("logs: this controller runs no containers");
    return service_logs_(*obj, query, sink, cancelled);
  }
  if (info->kind == "Environment") return stream_build(*obj, query, sink, cancelled);
  return stream_run(*obj, query, sink, cancelled);
}

Status LogsService::stream_run(const Object& run, const LogsQuery& query, const LogFrameSink& sink,
                               const std::function<bool()>& cancelled) {
  StoredLog log;
  log.kind = "CommandRun";
  log.ns = std::string(run.ns());
  log.name = std::string(run.name());
  log.uid = std::string(run.uid());
  log.finished = [](const Object& r) { return is_finished_run_phase(run_phase(r)); };
  log.end = [](const Object& r, LogFrame& f) {
    f.phase = run_phase(r);
    f.exit_code = run_exit_code(r);
  };
  return stream_log(log, run, query, sink, cancelled);
}

Status LogsService::stream_build(const Object& env, const LogsQuery& query,
                                 const LogFrameSink& sink, const std::function<bool()>& cancelled) {
  const int attempt = build_attempt(env);
  StoredLog log;
  log.kind = "Environment";
  log.name = std::string(env.name());
  log.uid = std::string(env.uid());
  // Only the last build's output: it starts after every byte of the builds before it.
  if (attempt > 0) {
    auto summary = hub_.store().log_summary(log.uid);
    if (!summary.ok()) return summary.status();
    for (const LogSummary::Part& p : summary->parts) {
      if (p.attempt < attempt) log.base += p.bytes;
    }
  }
  log.finished = [attempt](const Object& e) {
    // Another build started meanwhile: this one is over.
    return build_result(e) != "Building" || build_attempt(e) != attempt;
  };
  log.end = [attempt](const Object& e, LogFrame& f) {
    std::string result = build_attempt(e) == attempt ? build_result(e) : "Cancelled";
    f.phase = result.empty() ? "None" : result;
    f.exit_code = result == "Succeeded" || result.empty() ? 0 : 1;
  };
  return stream_log(log, env, query, sink, cancelled);
}

Status LogsService::stream_log(const StoredLog& log, const Object& owner, const LogsQuery& query,
                               const LogFrameSink& sink, const std::function<bool()>& cancelled) {
  Store& store = hub_.store();
  int64_t offset = log.base + query.since_bytes;
  // Sends everything stored past `offset`; false when the reader is gone.
  auto drain = [&](bool* sent_any) -> Result<bool> {
    *sent_any = false;
    for (;;) {
      auto chunks = store.read_log(log.uid, offset, options_.read_bytes);
      if (!chunks.ok()) return chunks.status();
      if (chunks->empty()) return true;
      *sent_any = true;
      for (LogChunk& c : *chunks) {
        LogFrame f;
        f.stream = c.stream;
        f.time = c.time;
        f.offset = c.offset - log.base;
        offset = c.end();
        f.data = std::move(c.data);
        if (!sink(f)) return false;
      }
      if (cancelled()) return false;
    }
  };
  auto finish = [&](const Object& done) {
    LogFrame f;
    f.end = true;
    f.offset = offset - log.base;
    log.end(done, f);
    sink(f);
    return Status::Ok();
  };

  Object current = owner;
  for (;;) {
    // Taken before reading: an append after the read bumps it, so the wait below returns.
    uint64_t seen = hub_.generation(log.uid);
    bool sent_any = false;
    auto more = drain(&sent_any);
    if (!more.ok()) return more.status();
    if (!*more) return Status::Ok();
    if (log.finished(current)) {
      // The writer stores all output before it records the end; everything read after
      // seeing that is complete.
      bool again = false;
      auto rest = drain(&again);
      if (!rest.ok()) return rest.status();
      if (!*rest) return Status::Ok();
      return finish(current);
    }
    if (!query.follow) return Status::Ok();
    if (!sent_any) {
      if (cancelled()) return Status::Ok();
      hub_.wait(log.uid, seen, options_.poll_interval);
      if (cancelled()) return Status::Ok();
    }
    auto latest = api_.get(log.kind, log.ns, log.name);
    if (!latest.ok() || latest->uid() != log.uid) {
      // Deleted (its log with it), or replaced by a new object of the same name: nothing more.
      if (latest.ok() || latest.status().code() == Code::kNotFound) return Status::Ok();
      return latest.status();
    }
    current = std::move(latest).value();
  }
}

Result<std::shared_ptr<StdinPipe>> LogsService::stdin_pipe(const std::string& ns,
                                                           const std::string& name) {
  auto run = api_.get("CommandRun", ns, name);
  if (!run.ok()) return run.status();
  const json::object* spec = run->spec_or_null();
  auto it = spec ? spec->find("stdin") : nullptr;
  if (!spec || it == spec->end() || !it->value().is_bool() || !it->value().as_bool()) {
    return Status::FailedPrecondition("CommandRun \"" + name +
                                      "\" was not created with spec.stdin: true (cenv run -i)");
  }
  if (is_finished_run_phase(run_phase(*run))) {
    return Status::FailedPrecondition("CommandRun \"" + name + "\" has finished (" +
                                      run_phase(*run) + ")");
  }
  return hub_.stdin_pipe(std::string(run->uid()));
}

}  // namespace cenv
