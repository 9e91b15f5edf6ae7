#include "reconcilers/swarm_run_attempt.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "reconcilers/service_spec.h"

namespace cenv {

using namespace std::chrono_literals;

namespace {

// How long a task has between SIGTERM and SIGKILL when a timeout or cancel stops it: short,
// as a container run is killed at once.
constexpr int64_t kStopGraceNanos = 1'000'000'000;

// A task state from which it never runs again.
bool ended(const docker::SwarmTask& t) {
  static constexpr std::string_view kEnded[] = {"complete", "failed",   "shutdown",
                                                "rejected", "orphaned", "remove"};
  return std::find(std::begin(kEnded), std::end(kEnded), t.state) != std::end(kEnded);
}

// Waits `d` unless `stop` comes first; false when it came.
bool pause(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

LogStream to_stream(docker::StreamKind kind) {
  return kind == docker::StreamKind::kStderr ? LogStream::kStderr : LogStream::kStdout;
}

}  // namespace

std::string attempt_service_name(const DockerNames& names, const Object& run, int number) {
  return swarm_name(attempt_container_name(names, run, number));
}

docker::SwarmServiceSpec attempt_service(const DockerNames& names, const Object& run, int number,
                                         const CommandRunTarget& target,
                                         const std::string& network) {
  docker::SwarmServiceSpec s;
  s.name = attempt_service_name(names, run, number);
  // The task's container carries the run's labels (Docker's events bring the run back), not
  // the attempt's: the attempt is the service.
  s.container_labels = names.labels("CommandRun", run.ns(), run.name(), run.uid());
  s.labels = s.container_labels;
  s.labels[std::string(kLabelSpecHash)] = run_spec_hash(run);
  s.labels[std::string(kLabelAttempt)] = std::to_string(number);
  s.image = target.image;
  s.command = target.command;
  s.env = target.env;
  s.working_dir = target.working_dir;
  s.init = true;
  s.stop_grace_period_ns = kStopGraceNanos;
  s.replicas = 1;
  s.restart_condition = "none";
  s.network = network;
  return s;
}

Status remove_run_services(docker::DockerClient& docker, const DockerNames& names,
                           const std::string& uid) {
  auto list = docker.list_services(run_filters(names, uid));
  if (!list.ok()) {
    return list.status().code() == Code::kFailedPrecondition ? Status::Ok() : list.status();
  }
  for (const auto& s : *list) {
    Status removed = docker.remove_service(s.id);
    if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> find_attempt_service(docker::DockerClient& docker,
                                                        const DockerNames& names,
                                                        const std::string& uid, int number) {
  auto list = docker.list_services(attempt_filters(names, uid, number));
  if (!list.ok()) {
    if (list.status().code() == Code::kFailedPrecondition) return std::optional<std::string>();
    return list.status();
  }
  if (list->empty()) return std::optional<std::string>();
  return std::optional<std::string>(list->front().id);
}

SwarmRunAttempt::SwarmRunAttempt(std::string uid, Request request, int number,
                                 docker::DockerClient& docker, LogHub& logs, const Clock& clock,
                                 SwarmRunAttemptOptions options)
    : uid_(std::move(uid)),
      request_(std::move(request)),
      number_(number),
      docker_(docker),
      logs_(logs),
      clock_(clock),
      options_(options) {}

SwarmRunAttempt::~SwarmRunAttempt() { join(); }

void SwarmRunAttempt::start(docker::SwarmServiceSpec spec, std::string service_id,
                            std::optional<std::chrono::seconds> timeout,
                            std::function<void(const Request&)> notify) {
  thread_ = std::jthread([this, spec = std::move(spec), id = std::move(service_id), timeout,
                          notify = std::move(notify)](std::stop_token stop) mutable {
    AttemptOutcome o = run(spec, std::move(id), timeout, stop);
    {
      std::lock_guard lock(mu_);
      outcome_ = o;
      done_ = true;
    }
    logs_.notify(uid_);
    if (!o.detached && notify) notify(request_);
  });
}

void SwarmRunAttempt::kill() {
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = service_id_;
  }
  if (id.empty()) return;
  Status s = docker_.scale_service(id, 0);
  if (!s.ok() && s.code() != Code::kNotFound) {
    spdlog::warn("CommandRun {}: cannot stop swarm service {}: {}", request_.to_string(),
                 id.substr(0, 12), s.message());
  }
}

void SwarmRunAttempt::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  kill();
}
void SwarmRunAttempt::detach() {
  detached_ = true;
  thread_.request_stop();
}
void SwarmRunAttempt::join() {
  if (thread_.joinable()) thread_.join();
}
bool SwarmRunAttempt::done() {
  std::lock_guard lock(mu_);
  return done_;
}
AttemptOutcome SwarmRunAttempt::outcome() {
  std::lock_guard lock(mu_);
  return outcome_;
}

AttemptOutcome SwarmRunAttempt::run(const docker::SwarmServiceSpec& spec, std::string id,
                                    std::optional<std::chrono::seconds> timeout,
                                    std::stop_token stop) {
  AttemptOutcome o;
  int64_t skip[2] = {0, 0};  // what the store holds of this attempt already, by stream
  auto since = clock_.now();
  if (id.empty()) {
    auto created = docker_.create_service(spec);
    if (!created.ok()) return creation_failed(created.status(), "swarm service");
    id = *created;
  } else {
    auto held = stored_output(logs_.store(), uid_, number_);
    if (!held.ok()) {
      o.detached = true;  // try again on the next reconcile
      return o;
    }
    skip[0] = held->stdout_bytes;
    skip[1] = held->stderr_bytes;
    auto info = docker_.inspect_service(id);
    std::chrono::system_clock::time_point created;
    if (info.ok() && parse_rfc3339(info->created, &created)) since = created;
  }
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    service_id_ = id;
    cancelled = cancelled_;
  }
  if (cancelled) kill();

  RunOutput output(logs_, uid_, number_, skip[0], skip[1], clock_, options_.output);
  std::stop_callback abandon_on_stop(stop, [&] { output.abandon(); });
  // Live: the logs followed while the task runs (the engine never ends a follow by itself).
  int64_t delivered[2] = {0, 0};  // by stream, including what `output` skips
  std::jthread follower([&, id](std::stop_token st) {
    Status s = docker_.service_logs(
        id, {.follow = true},
        [&](docker::StreamKind kind, std::string_view bytes) {
          delivered[kind == docker::StreamKind::kStderr ? 1 : 0] +=
              static_cast<int64_t>(bytes.size());
          return output.write(to_stream(kind), bytes);
        },
        st);
    if (!s.ok() && !st.stop_requested()) {
      spdlog::warn("CommandRun {}: following the logs of swarm service {} ended: {}",
                   request_.to_string(), id.substr(0, 12), s.message());
    }
  });
  std::stop_callback stop_follower(stop, [&] { follower.request_stop(); });
  std::jthread deadline;
  if (timeout) {
    deadline = std::jthread([this, since, timeout](std::stop_token st) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(since + *timeout - clock_.now());
      if (left > 0ms && !pause(left, st)) return;
      if (st.stop_requested()) return;
      timed_out_ = true;
      kill();
    });
  }

  auto task = wait_for_end(id, stop);
  deadline.request_stop();
  follower.request_stop();
  follower.join();
  if (stop.stop_requested() || detached_) {
    output.abandon();
    o.detached = true;
    return o;
  }
  if (!task.ok() || !*task) {
    (void)output.close();
    o.log_bytes = output.log_bytes();
    o.reason = "Lost";
    o.message = "the swarm service of attempt " + std::to_string(number_) + " is gone" +
                (task.ok() ? std::string() : ": " + task.status().message());
    return o;
  }
  // The rest: what the follow had not delivered when the task ended.
  Status rest = docker_.service_logs(
      id, {.follow = false}, [&](docker::StreamKind kind, std::string_view bytes) {
        int64_t& left = delivered[kind == docker::StreamKind::kStderr ? 1 : 0];
        auto n = static_cast<size_t>(std::min<int64_t>(left, std::ssize(bytes)));
        left -= static_cast<int64_t>(n);
        bytes.remove_prefix(n);
        return bytes.empty() || output.write(to_stream(kind), bytes);
      });
  if (!rest.ok()) {
    spdlog::warn("CommandRun {}: reading the logs of swarm service {}: {}", request_.to_string(),
                 id.substr(0, 12), rest.message());
  }
  Status stored = output.close();
  return task_outcome(**task, stored, output);
}

Result<std::optional<docker::SwarmTask>> SwarmRunAttempt::wait_for_end(const std::string& id,
                                                                       std::stop_token stop) {
  for (;;) {
    if (stop.stop_requested()) return std::optional<docker::SwarmTask>();
    auto tasks = docker_.list_tasks(id);
    if (!tasks.ok()) {
      if (tasks.status().code() != Code::kUnavailable) return tasks.status();
    } else if (tasks->empty()) {
      // Not scheduled yet, or the service is gone.
      auto info = docker_.inspect_service(id);
      if (!info.ok() && info.status().code() == Code::kNotFound) return info.status();
    } else {
      for (const docker::SwarmTask& t : *tasks) {
        if (ended(t)) return std::optional<docker::SwarmTask>(t);
      }
    }
    if (!pause(options_.poll_interval, stop)) return std::optional<docker::SwarmTask>();
  }
}

AttemptOutcome SwarmRunAttempt::task_outcome(const docker::SwarmTask& task, const Status& stored,
                                             RunOutput& output) {
  AttemptOutcome o;
  o.log_bytes = output.log_bytes();
  if (!stored.ok()) {
    o.reason = "OutputLost";
    o.message = "cannot store the output: " + stored.message();
    return o;
  }
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    cancelled = cancelled_;
  }
  // Never ran: refused by the swarm (no such image on the node, bad mount), or its container
  // did not start (a failed task that says exit code 0).
  const bool never_ran = !task.exit_code || task.state == "rejected" ||
                         (task.state == "failed" && *task.exit_code == 0);
  if (never_ran && !cancelled && !timed_out_) {
    AttemptOutcome e = start_error(
        Status::Internal("task " + task.state + (task.error.empty() ? "" : ": " + task.error)));
    e.log_bytes = o.log_bytes;
    return e;
  }
  o.exit_code = task.exit_code.value_or(137);
  name_outcome(o, number_, cancelled, timed_out_);
  return o;
}

}  // namespace cenv
