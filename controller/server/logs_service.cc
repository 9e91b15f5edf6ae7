#include "controller/server/logs_service.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "api/display_text.h"

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

Status LogsService::stream(const LogsQuery& query, const LogFrameSink& sink,
                           const std::function<bool()>& cancelled) {
  if (query.since_bytes < 0) return Status::Invalid("sinceBytes: must not be negative");
  const KindInfo* info = api_.kinds().find(query.kind);
  if (!info) {
    return Status::NotFound("the server doesn't have a resource type \"" +
                            escape_for_display(query.kind) + "\"");
  }
  if (info->kind != "CommandRun" && info->kind != "Service") {
    return Status::Invalid("logs: " + info->kind +
                           " has no output; logs are kept for CommandRun and Service");
  }
  auto obj = api_.get(info->kind, query.ns, query.name);
  if (!obj.ok()) return obj.status();
  if (info->kind == "Service") {
    if (!service_logs_) return Status::Unavailable("logs: this controller runs no containers");
    return service_logs_(*obj, query, sink, cancelled);
  }
  return stream_run(*obj, query, sink, cancelled);
}

Status LogsService::stream_run(const Object& run, const LogsQuery& query, const LogFrameSink& sink,
                               const std::function<bool()>& cancelled) {
  const std::string uid(run.uid());
  const std::string ns(run.ns()), name(run.name());
  Store& store = hub_.store();
  int64_t offset = query.since_bytes;
  // Sends everything stored past `offset`; false when the reader is gone.
  auto drain = [&](bool* sent_any) -> Result<bool> {
    *sent_any = false;
    for (;;) {
      auto chunks = store.read_log(uid, offset, options_.read_bytes);
      if (!chunks.ok()) return chunks.status();
      if (chunks->empty()) return true;
      *sent_any = true;
      for (LogChunk& c : *chunks) {
        LogFrame f;
        f.stream = c.stream;
        f.time = c.time;
        f.offset = c.offset;
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
    f.offset = offset;
    f.phase = run_phase(done);
    f.exit_code = run_exit_code(done);
    sink(f);
    return Status::Ok();
  };

  Object current = run;
  for (;;) {
    // Taken before reading: an append after the read bumps it, so the wait below returns.
    uint64_t seen = hub_.generation(uid);
    bool sent_any = false;
    auto more = drain(&sent_any);
    if (!more.ok()) return more.status();
    if (!*more) return Status::Ok();
    if (is_finished_run_phase(run_phase(current))) {
      // The reconciler stores all output before it writes the final phase; everything read
      // after seeing that phase is complete.
      bool again = false;
      auto rest = drain(&again);
      if (!rest.ok()) return rest.status();
      if (!*rest) return Status::Ok();
      return finish(current);
    }
    if (!query.follow) return Status::Ok();
    if (!sent_any) {
      if (cancelled()) return Status::Ok();
      hub_.wait(uid, seen, options_.poll_interval);
      if (cancelled()) return Status::Ok();
    }
    auto latest = api_.get("CommandRun", ns, name);
    if (!latest.ok() || latest->uid() != uid) {
      // Deleted (its log with it), or replaced by a new run of the same name: nothing more.
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
