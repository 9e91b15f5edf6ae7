#include "reconcilers/commandrun.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/json_fields.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/exec_process.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;

CommandRunReconciler::CommandRunReconciler(Client& client, DockerConnection& docker, LogHub& logs,
                                           const Clock& clock, CommandRunReconcilerOptions options)
    : client_(client), docker_(docker), logs_(logs), clock_(clock), options_(std::move(options)) {}

CommandRunReconciler::~CommandRunReconciler() { stop(); }

std::chrono::milliseconds retry_delay(const CommandRunReconcilerOptions& options,
                                      int failed_attempts) {
  return backoff_delay(options.backoff_base, options.backoff_max, failed_attempts);
}

Result<bool> CommandRunReconciler::has_shell(docker::DockerClient& docker,
                                             const std::string& container) {
  {
    std::lock_guard lock(mu_);
    if (auto it = shells_.find(container); it != shells_.end()) return it->second;
  }
  auto has = container_has_shell(docker, container);
  if (!has.ok()) return has.status();
  std::lock_guard lock(mu_);
  if (shells_.size() >= 1024) shells_.clear();  // containers come and go; bounded
  shells_[container] = *has;
  return *has;
}

void CommandRunReconciler::set_notify(std::function<void(const Request&)> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

void CommandRunReconciler::stop() {
  std::map<std::string, std::shared_ptr<RunAttempt>> attempts;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    attempts.swap(attempts_);
  }
  for (auto& [uid, a] : attempts) a->detach();
  for (auto& [uid, a] : attempts) a->join();
}

std::unique_ptr<Runnable> CommandRunReconciler::stopper() {
  class Stopper final : public Runnable {
   public:
    explicit Stopper(CommandRunReconciler& r) : r_(r) {}
    void start(std::stop_token stop) override {
      wait_for_stop(stop);
      r_.stop();
    }

   private:
    CommandRunReconciler& r_;
  };
  return std::make_unique<Stopper>(*this);
}

std::shared_ptr<RunAttempt> CommandRunReconciler::find(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = attempts_.find(uid);
  return it == attempts_.end() ? nullptr : it->second;
}

ReconcileResult CommandRunReconciler::launch_container(const Object& run, int number,
                                                       docker::DockerClient& docker,
                                                       docker::ContainerSpec spec,
                                                       std::string container_id,
                                                       const CommandRunTarget& target) {
  CommandRunAttemptOptions o;
  o.output = options_.output;
  o.exec_kill_grace = options_.exec_kill_grace;
  o.exec_poll_interval = options_.exec_poll_interval;
  auto attempt = std::make_shared<CommandRunAttempt>(std::string(run.uid()), Request::from(run),
                                                     number, docker, logs_, clock_, o);
  return launch(attempt, [&](std::function<void(const Request&)> notify) {
    attempt->start_container(std::move(spec), std::move(container_id), target, std::move(notify));
  });
}

ReconcileResult CommandRunReconciler::launch_service(const Object& run, int number,
                                                     docker::DockerClient& docker,
                                                     const CommandRunTarget& target,
                                                     std::string service_id) {
  docker::SwarmServiceSpec spec;
  if (service_id.empty()) {
    std::string network;
    auto env = client_.get({"Environment", "", std::string(run.ns())});
    if (env.ok()) {
      // Joins the Environment's overlay network when it exists (Services are reachable by name).
      std::string name = environment_network(*env, options_.names);
      if (docker.inspect_network(name).ok()) network = name;
    }
    spec = attempt_service(options_.names, run, number, target, network);
    // A leftover of this very attempt (created, then the controller stopped before recording
    // it could be followed) would block the name.
    (void)docker.remove_service(spec.name);
  }
  SwarmRunAttemptOptions o;
  o.output = options_.output;
  o.poll_interval = options_.swarm_poll_interval;
  auto attempt = std::make_shared<SwarmRunAttempt>(std::string(run.uid()), Request::from(run),
                                                   number, docker, logs_, clock_, o);
  return launch(attempt, [&](std::function<void(const Request&)> notify) {
    attempt->start(std::move(spec), std::move(service_id), target.timeout, std::move(notify));
  });
}

Result<Object> CommandRunReconciler::write_status(Object run) {
  set_observed_generation(run);
  return client_.update_status(run);
}

Status CommandRunReconciler::remove_workloads(const std::string& uid,
                                              docker::DockerClient& docker) {
  CENV_RETURN_IF_ERROR(remove_run_services(docker, options_.names, uid));
  auto list =
      docker.list_containers({.all = true, .label_filters = run_filters(options_.names, uid)});
  if (!list.ok()) return list.status();
  for (const auto& c : *list) {
    Status s = docker.remove_container(c.id, {.force = true});
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  return Status::Ok();
}

ReconcileResult CommandRunReconciler::reconcile(const Request& req) {
  auto got = client_.get(req.key());
  if (!got.ok()) {
    if (got.status().code() == Code::kNotFound) return ReconcileResult::done();
    return ReconcileResult::failed(got.status());
  }
  Object run = std::move(got).value();
  if (is_being_deleted(run)) return finalize(std::move(run));
  if (!has_finalizer(run, kCleanupFinalizer)) {
    add_finalizer(run, kCleanupFinalizer);
    auto updated = client_.update(run);
    if (!updated.ok()) return ReconcileResult::failed(updated.status());
    run = std::move(updated).value();
  }
  const std::string phase = run_phase(run);
  if (is_final_phase(phase)) return finished(run);

  const std::string uid(run.uid());
  if (auto attempt = find(uid)) {
    if (!attempt->done()) {
      // It notifies when it ends; meanwhile status.logBytes follows the stored output.
      auto summary = logs_.store().log_summary(uid);
      if (summary.ok() && int64_field(run.status_or_null(), "logBytes") != summary->bytes) {
        run.status()["logBytes"] = summary->bytes;
        auto written = write_status(run);
        if (!written.ok()) return ReconcileResult::failed(written.status());
      }
      return ReconcileResult::after(options_.log_bytes_interval);
    }
    return conclude(std::move(run), attempt);
  }
  // Backing off after a failed attempt: the next one starts at nextAttemptTime.
  if (auto left = backoff_left(run, clock_.now())) return ReconcileResult::after(*left);
  auto docker = docker_.client();
  if (!docker.ok()) return ReconcileResult::failed(docker.status());
  if (phase == kRunRunning) return adopt(std::move(run), **docker);
  return start_attempt(std::move(run), run_attempts(run) + 1, **docker);
}

// A Running run without an attempt in memory: the controller restarted (or the attempt's
// thread could not read the store). Re-attach to the attempt's container when there is one.
ReconcileResult CommandRunReconciler::adopt(Object run, docker::DockerClient& docker) {
  auto plan = plan_adoption(
      run, client_, docker, logs_.store(), options_.names, options_.secrets,
      [&](const std::string& container) { return has_shell(docker, container); }, clock_.now());
  if (!plan.ok()) return ReconcileResult::failed(plan.status());
  switch (plan->action) {
    case Adoption::Action::kStart:
      return start_attempt(std::move(run), plan->number, docker);
    case Adoption::Action::kRecord:
      return record(std::move(run), plan->number, plan->outcome);
    case Adoption::Action::kFollow:
      break;
  }
  if (!plan->running_note.empty()) {
    mark_running(run, plan->number, clock_.now(), plan->running_note);
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    run = std::move(written).value();
  }
  if (!plan->service_id.empty()) {
    return launch_service(run, plan->number, docker, plan->target, plan->service_id);
  }
  return launch_container(run, plan->number, docker, {}, plan->container_id, plan->target);
}

ReconcileResult CommandRunReconciler::wait(Object run, std::string_view message) {
  mark_waiting(run, message, clock_.now());
  auto written = write_status(run);
  if (!written.ok()) return ReconcileResult::failed(written.status());
  return ReconcileResult::after(options_.wait_interval);
}

ReconcileResult CommandRunReconciler::start_attempt(Object run, int number,
                                                    docker::DockerClient& docker) {
  const std::string uid(run.uid());
  auto target = resolve_target(run, client_, docker, options_.names, options_.secrets);
  if (!target.ok()) {
    const Status& s = target.status();
    // Waits: Pending with the reason, looked at again shortly.
    if (s.code() == Code::kFailedPrecondition || s.code() == Code::kUnavailable) {
      return wait(std::move(run), s.message());
    }
    // Cannot ever run: fail now, clearly.
    mark_unrunnable(run, s, clock_.now());
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    logs_.notify(uid);
    return finished(*written);
  }
  // Containers of earlier attempts go; their output is stored.
  if (number > 1) {
    if (Status s = remove_workloads(uid, docker); !s.ok()) return ReconcileResult::failed(s);
  }
  if (target->swarm && !target->exec && target->stdin) {
    mark_unrunnable(run,
                    Status::Invalid("spec.stdin: not supported when the Environment's "
                                    "spec.runtime is swarm"),
                    clock_.now());
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    logs_.notify(uid);
    return finished(*written);
  }
  // Recorded before the container exists, so a restart finds the attempt it belongs to.
  json::object& status = run.status();
  status.erase("nextAttemptTime");
  status.erase("exec");
  if (target->exec) {
    if (auto ended = create_exec(run, number, *target, docker)) return *ended;
  }
  mark_running(run, number, clock_.now());
  auto written = write_status(run);
  if (!written.ok()) return ReconcileResult::failed(written.status());
  run = std::move(written).value();

  if (target->swarm && !target->exec) return launch_service(run, number, docker, *target, "");
  docker::ContainerSpec spec;
  if (!target->exec) spec = attempt_container(run, number, *target, docker);
  return launch_container(run, number, docker, std::move(spec), "", *target);
}

std::optional<ReconcileResult> CommandRunReconciler::create_exec(Object& run, int number,
                                                                 CommandRunTarget& target,
                                                                 docker::DockerClient& docker) {
  // The exec is created (not started) first, so the attempt's record names it and a
  // restarted controller finds it. With /bin/sh it runs through the pid-recording wrapper,
  // so that timeout and cancel can kill it.
  const std::string uid(run.uid());
  const auto now = clock_.now();
  auto shell = has_shell(docker, target.container);
  if (!shell.ok()) {
    return wait(run, "cannot look into the container of Service \"" +
                         std::string(string_field(run.spec_or_null(), "service")) +
                         "\": " + shell.status().message());
  }
  target.exec_wrapped = *shell;
  target.pid_file = exec_pid_file(uid, number);
  docker::ExecSpec es;
  es.cmd = *shell ? wrap_exec_command(target.pid_file, target.command) : target.command;
  es.env = target.env;
  es.working_dir = target.working_dir;
  es.attach_stdin = target.stdin;
  json::object& status = run.status();
  auto exec = docker.create_exec(target.container, es);
  if (!exec.ok()) {
    status["attempts"] = number;
    if (!status.contains("startTime")) status["startTime"] = format_rfc3339(now);
    AttemptOutcome o;
    o.reason = "ExecError";
    o.message = "cannot exec in the Service's container: " + exec.status().message();
    o.exit_code = 126;
    auto summary = logs_.store().log_summary(uid);
    o.log_bytes = summary.ok() ? summary->bytes : 0;
    return record(std::move(run), number, o);
  }
  target.exec_id = *exec;
  target.exec_started = now;
  status["exec"] = json::object{{"id", *exec}, {"startTime", format_time_ms(now)}};
  return std::nullopt;
}

docker::ContainerSpec CommandRunReconciler::attempt_container(const Object& run, int number,
                                                              const CommandRunTarget& target,
                                                              docker::DockerClient& docker) {
  docker::ContainerSpec spec;
  spec.name = attempt_container_name(options_.names, run, number);
  spec.image = target.image;
  spec.cmd = target.command;
  spec.env = target.env;
  spec.working_dir = target.working_dir;
  spec.labels = options_.names.labels("CommandRun", run.ns(), run.name(), run.uid());
  spec.labels[std::string(kLabelSpecHash)] = run_spec_hash(run);
  spec.labels[std::string(kLabelAttempt)] = std::to_string(number);
  spec.open_stdin = target.stdin;
  spec.stdin_once = target.stdin;
  auto env = client_.get({"Environment", "", std::string(run.ns())});
  if (env.ok()) {
    std::string network = environment_network(*env, options_.names);
    // Joins the Environment's network when it exists (Services are reachable by name).
    if (docker.inspect_network(network).ok()) spec.network = network;
  }
  // A leftover of this very attempt (created, then the controller stopped before starting
  // it) would block the name.
  (void)docker.remove_container(spec.name, {.force = true});
  return spec;
}

ReconcileResult CommandRunReconciler::launch(
    const std::shared_ptr<RunAttempt>& attempt,
    const std::function<void(std::function<void(const Request&)>)>& start) {
  std::function<void(const Request&)> notify;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return ReconcileResult::done();
    notify = notify_;
    attempts_[attempt->uid()] = attempt;
  }
  start(std::move(notify));
  return ReconcileResult::done();
}

ReconcileResult CommandRunReconciler::conclude(Object run,
                                               const std::shared_ptr<RunAttempt>& attempt) {
  const std::string uid(run.uid());
  attempt->join();
  AttemptOutcome o = attempt->outcome();
  {
    std::lock_guard lock(mu_);
    attempts_.erase(uid);
  }
  if (o.detached) return ReconcileResult::after(options_.wait_interval);  // adopt() next
  return record(std::move(run), attempt->number(), o);
}

ReconcileResult CommandRunReconciler::record(Object run, int number, const AttemptOutcome& o) {
  const std::string uid(run.uid());
  auto backoff =
      mark_outcome(run, number, o, options_.backoff_base, options_.backoff_max, clock_.now());
  if (backoff) {
    spdlog::info("CommandRun {}: {}", Request::from(run).to_string(),
                 get_condition(run, "Ready")->message);
  }
  auto written = write_status(run);
  if (!written.ok()) return ReconcileResult::failed(written.status());
  logs_.notify(uid);
  if (is_being_deleted(*written)) return finalize(std::move(written).value());
  if (backoff) return ReconcileResult::after(*backoff);
  return finished(*written);
}

ReconcileResult CommandRunReconciler::finished(const Object& run) {
  const std::string uid(run.uid());
  logs_.release(uid);
  auto docker = docker_.client();
  if (docker.ok()) {
    if (Status s = remove_workloads(uid, **docker); !s.ok()) return ReconcileResult::failed(s);
  }
  auto expires = ttl_deadline(run);
  if (!expires) return ReconcileResult::done();
  auto now = clock_.now();
  if (now < *expires) {
    return ReconcileResult::after(
        std::chrono::duration_cast<std::chrono::milliseconds>(*expires - now) +
        std::chrono::milliseconds(10));
  }
  DeleteOptions options;
  options.resource_version = run.resource_version();
  Status s = client_.remove(run.key(), options);
  if (!s.ok() && s.code() != Code::kNotFound) return ReconcileResult::failed(s);
  return ReconcileResult::done();
}

// Deleting: kill a running attempt, record Cancelled, remove the containers, then the
// finalizer (the API server then removes the object and its log).
ReconcileResult CommandRunReconciler::finalize(Object run) {
  const std::string uid(run.uid());
  if (!has_finalizer(run, kCleanupFinalizer)) return ReconcileResult::done();
  if (auto attempt = find(uid)) {
    if (!attempt->done()) {
      attempt->cancel();
      return ReconcileResult::done();  // the attempt notifies when it has ended
    }
    return conclude(std::move(run), attempt);
  }
  auto docker = docker_.client();
  if (!docker.ok()) return ReconcileResult::failed(docker.status());
  if (run_phase(run) == kRunRunning) {
    // Running but not followed (a restart): kill whatever runs for it. An exec's process at
    // once with SIGKILL, as a container is (no attempt thread here to wait out a grace period).
    const std::string exec_id(string_field(object_field(run.status_or_null(), "exec"), "id"));
    if (!exec_id.empty()) {
      Status killed = ExecProcess(**docker, exec_id, exec_pid_file(uid, run_attempts(run)), true)
                          .signal(SIGKILL);
      if (!killed.ok() && killed.code() != Code::kNotFound) {
        spdlog::warn("CommandRun {}: cannot kill exec {} of the deleted run: {}",
                     Request::from(run).to_string(), exec_id.substr(0, 12), killed.message());
      }
    }
    mark_cancelled(run, clock_.now());
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    run = std::move(written).value();
  }
  if (Status s = remove_workloads(uid, **docker); !s.ok()) return ReconcileResult::failed(s);
  logs_.notify(uid);  // followers see the end
  logs_.release(uid);
  remove_finalizer(run, kCleanupFinalizer);
  auto updated = client_.update(run);
  if (!updated.ok() && updated.status().code() != Code::kNotFound) {
    return ReconcileResult::failed(updated.status());
  }
  return ReconcileResult::done();
}

}  // namespace cenv
