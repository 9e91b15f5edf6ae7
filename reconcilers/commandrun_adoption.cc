#include "reconcilers/commandrun_adoption.h"

#include <spdlog/spdlog.h>

#include "api/json_fields.h"
#include "reconcilers/commandrun_attempt.h"
#include "reconcilers/exec_process.h"
#include "reconcilers/swarm_run_attempt.h"

namespace cenv {

namespace {

constexpr std::string_view kExecOutputLost =
    "; the controller restarted while it ran, and Docker cannot attach to a running exec "
    "again: what it printed from then on is not stored";

Adoption record(int number, AttemptOutcome o) {
  Adoption a;
  a.action = Adoption::Action::kRecord;
  a.number = number;
  a.outcome = std::move(o);
  return a;
}

Adoption start(int number) {
  Adoption a;
  a.action = Adoption::Action::kStart;
  a.number = number;
  return a;
}

int64_t stored_bytes(Store& store, const std::string& uid) {
  auto summary = store.log_summary(uid);
  return summary.ok() ? summary->bytes : 0;
}

// A Running exec run: re-attach to its exec (status.exec.id) as far as Docker allows
// (commandrun.h).
Result<Adoption> plan_exec_adoption(const Object& run, int number, docker::DockerClient& docker,
                                    Store& store, const ShellProbe& has_shell,
                                    std::chrono::system_clock::time_point now) {
  const std::string uid(run.uid());
  const boost::json::object* exec_status = object_field(run.status_or_null(), "exec");
  const std::string id(string_field(exec_status, "id"));
  AttemptOutcome o;
  o.log_bytes = stored_bytes(store, uid);
  o.reason = "Lost";
  if (id.empty()) {
    o.message = "the controller restarted during the exec of attempt " + std::to_string(number) +
                ", and the attempt names no exec to re-attach to";
    return record(number, o);
  }
  auto info = docker.inspect_exec(id);
  if (!info.ok()) {
    if (info.status().code() != Code::kNotFound) return info.status();
    o.message = "the exec of attempt " + std::to_string(number) +
                " is gone (its container stopped, or it ended while the controller was down and "
                "Docker no longer keeps it), so its exit code is unknown";
    return record(number, o);
  }
  if (!info->running && info->exit_code && *info->exit_code == kBrokenExecStream) {
    o.message = "attempt " + std::to_string(number) + " ended while the controller was down, but " +
                std::string(kExitCodeLost) + std::string(kExecOutputLost);
    return record(number, o);
  }
  if (!info->running && info->exit_code) {
    // It ended while the controller was down.
    o.exit_code = *info->exit_code;
    o.note = kExecOutputLost;
    if (o.exit_code != 0) {
      o.reason = "NonZeroExit";
      o.message = "attempt " + std::to_string(number) + " exited with code " +
                  std::to_string(o.exit_code) + std::string(kExecOutputLost);
    } else {
      o.reason.clear();
    }
    spdlog::info(
        "CommandRun {}: exec {} of attempt {} ended with code {} while the controller "
        "was down",
        Request::from(run).to_string(), id.substr(0, 12), number, o.exit_code);
    return record(number, o);
  }
  Adoption a;
  a.action = Adoption::Action::kFollow;
  a.number = number;
  CommandRunTarget& t = a.target;
  t.exec = true;
  t.container = info->container_id;
  t.exec_id = id;
  t.pid_file = exec_pid_file(uid, number);
  // Wrapped iff the container has /bin/sh (as when it was created); unknown: try the pid file
  // (ExecProcess falls back to the host pid).
  auto shell = has_shell(t.container);
  t.exec_wrapped = !shell.ok() || *shell;
  if (auto timeout = int64_field(run.spec_or_null(), "timeoutSeconds")) {
    t.timeout = std::chrono::seconds(*timeout);
  }
  t.exec_started = now;
  (void)parse_time_ms(string_field(exec_status, "startTime"), &t.exec_started);
  if (info->running) {
    t.exec_adopted = true;
    t.stdin = false;
    a.running_note = kExecOutputLost;
    spdlog::info(
        "CommandRun {}: re-attaching to attempt {} (exec {}); its output from now on is "
        "not stored",
        Request::from(run).to_string(), number, id.substr(0, 12));
  } else {
    // Created, never started (the controller stopped in between): start it now.
    t.stdin = bool_field(run.spec_or_null(), "stdin");
    t.exec_started = now;
  }
  return a;
}

}  // namespace

Result<Adoption> plan_adoption(const Object& run, Reader& reader, docker::DockerClient& docker,
                               Store& store, const DockerNames& names, const SecretOpener* secrets,
                               const ShellProbe& has_shell,
                               std::chrono::system_clock::time_point now) {
  const std::string uid(run.uid());
  const int number = run_attempts(run);
  const bool exec = !string_field(run.spec_or_null(), "service").empty();
  if (number > 0 && !exec) {
    auto service = find_attempt_service(docker, names, uid, number);
    if (!service.ok()) return service.status();
    if (*service) {
      Adoption a;
      a.action = Adoption::Action::kFollow;
      a.number = number;
      a.service_id = **service;
      if (auto timeout = int64_field(run.spec_or_null(), "timeoutSeconds")) {
        a.target.timeout = std::chrono::seconds(*timeout);
      }
      a.target.swarm = true;
      spdlog::info("CommandRun {}: re-attaching to attempt {} (swarm service {})",
                   Request::from(run).to_string(), number, a.service_id.substr(0, 12));
      return a;
    }
    auto list =
        docker.list_containers({.all = true, .label_filters = attempt_filters(names, uid, number)});
    if (!list.ok()) return list.status();
    if (!list->empty()) {
      Adoption a;
      a.action = Adoption::Action::kFollow;
      a.number = number;
      a.container_id = list->front().id;
      auto target = resolve_target(run, reader, docker, names, secrets);
      if (target.ok()) a.target = std::move(target).value();
      a.target.exec = false;
      if (!target.ok()) {
        // The target no longer resolves (an Environment changed): the container still
        // runs what it was given; only timeout and stdin matter here.
        auto timeout = int64_field(run.spec_or_null(), "timeoutSeconds");
        if (timeout) a.target.timeout = std::chrono::seconds(*timeout);
      }
      a.target.stdin = false;  // stdin cannot be re-attached with its earlier input
      spdlog::info("CommandRun {}: re-attaching to attempt {} (container {})",
                   Request::from(run).to_string(), number, a.container_id.substr(0, 12));
      return a;
    }
    // No container: it was never created (the controller stopped right after recording the
    // attempt) when nothing of it is stored; start that attempt again then.
    auto summary = store.log_summary(uid);
    if (!summary.ok()) return summary.status();
    if (summary->bytes_of(number, LogStream::kStdout) == 0 &&
        summary->bytes_of(number, LogStream::kStderr) == 0) {
      return start(number);
    }
  }
  if (number == 0) return start(1);
  if (exec) return plan_exec_adoption(run, number, docker, store, has_shell, now);
  AttemptOutcome o;
  o.reason = "Lost";
  o.message = "the container of attempt " + std::to_string(number) + " is gone";
  o.log_bytes = stored_bytes(store, uid);
  return record(number, o);
}

}  // namespace cenv
