#include "reconcilers/commandrun_attempt.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <utility>

namespace cenv {

using namespace std::chrono_literals;

namespace {

// Stores `bytes` of the container's stream `kind`; false when the output was abandoned.
bool write_output(RunOutput& output, docker::StreamKind kind, std::string_view bytes) {
  return output.write(kind == docker::StreamKind::kStderr ? LogStream::kStderr : LogStream::kStdout,
                      bytes);
}

}  // namespace

CommandRunAttempt::CommandRunAttempt(std::string uid, Request request, int number,
                                     docker::DockerClient& docker, LogHub& logs, const Clock& clock,
                                     CommandRunAttemptOptions options)
    : uid_(std::move(uid)),
      request_(std::move(request)),
      number_(number),
      docker_(docker),
      logs_(logs),
      clock_(clock),
      output_options_(options.output),
      kill_grace_(options.exec_kill_grace),
      poll_interval_(options.exec_poll_interval) {}

CommandRunAttempt::~CommandRunAttempt() { join(); }

// Starts the thread: a new container from `spec`, a re-attach to `container_id`, or an exec.
void CommandRunAttempt::start_container(docker::ContainerSpec spec, std::string container_id,
                                        const CommandRunTarget& target,
                                        std::function<void(const Request&)> notify) {
  if (target.exec) {
    std::lock_guard lock(mu_);
    exec_process_.emplace(docker_, target.exec_id, target.pid_file, target.exec_wrapped);
  }
  thread_ = std::jthread([this, spec = std::move(spec), id = std::move(container_id), target,
                          notify = std::move(notify)](std::stop_token stop) mutable {
    AttemptOutcome o = target.exec ? run_exec(target, stop) : run_container(spec, id, target, stop);
    {
      std::lock_guard lock(mu_);
      outcome_ = o;
      done_ = true;
    }
    done_cv_.notify_all();
    logs_.notify(uid_);
    if (!o.detached && notify) notify(request_);
  });
}

// Kills the attempt (deleting the run): the container, or the exec'd process.
void CommandRunAttempt::cancel() {
  std::string id;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    id = container_id_;
  }
  if (!id.empty()) (void)docker_.kill_container(id);
  kill_exec();
}
// Stops watching without killing (controller shutdown).
void CommandRunAttempt::detach() {
  detached_ = true;
  thread_.request_stop();
  exec_stop_.request_stop();
  // A kill under way is dropped too: the next controller kills again (the deadline still
  // holds; a deleted run's exec is killed by finalize()).
  std::lock_guard lock(mu_);
  killer_.request_stop();
}
void CommandRunAttempt::join() {
  if (thread_.joinable()) thread_.join();
  std::jthread killer;
  {
    std::lock_guard lock(mu_);
    killer = std::move(killer_);
  }
  if (killer.joinable()) killer.join();
}
bool CommandRunAttempt::done() {
  std::lock_guard lock(mu_);
  return done_;
}
AttemptOutcome CommandRunAttempt::outcome() {
  std::lock_guard lock(mu_);
  return outcome_;
}
// Kills the container once `timeout` has passed since `started`, unless stopped first.
std::jthread CommandRunAttempt::deadline_watch(std::chrono::system_clock::time_point started,
                                               std::chrono::seconds timeout) {
  return std::jthread([this, started, timeout](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    auto remaining = started + timeout - std::chrono::system_clock::now();
    if (remaining > std::chrono::system_clock::duration::zero() &&
        cv.wait_for(lock, stop, remaining, [] { return false; })) {
      return;
    }
    if (stop.stop_requested()) return;
    timed_out_ = true;
    std::string id;
    {
      std::lock_guard l(mu_);
      id = container_id_;
    }
    if (!id.empty()) (void)docker_.kill_container(id);
    kill_exec();
  });
}

// Starts stopping the exec'd process (once): SIGTERM, SIGKILL kill_grace_ later; should it
// still not end (or not be signalled at all), the attempt stops following it.
void CommandRunAttempt::kill_exec() {
  std::lock_guard lock(mu_);
  if (!exec_process_ || killing_) return;
  killing_ = true;
  killer_ = std::jthread([this](std::stop_token stop) { stop_exec(stop); });
}

void CommandRunAttempt::stop_exec(std::stop_token stop) {
  Status last;
  for (int sig : {SIGTERM, SIGKILL}) {
    auto until = std::chrono::steady_clock::now() + kill_grace_;
    bool sent = false;
    while (!stop.stop_requested() && !exec_ended() && std::chrono::steady_clock::now() < until) {
      if (!sent) {
        last = exec_process_->signal(sig);
        sent = last.ok();
        if (last.code() == Code::kUnavailable) break;  // nothing will signal it
      }
      // Sent: wait for the end; not yet (no pid recorded yet): try again shortly.
      auto wake = sent ? until : std::min(until, std::chrono::steady_clock::now() + 100ms);
      std::unique_lock lock(mu_);
      exec_cv_.wait_until(lock, stop, wake, [this] { return exec_ended_; });
    }
    if (stop.stop_requested() || exec_ended()) return;
    if (last.code() == Code::kUnavailable) break;
    if (sent)
      spdlog::info("CommandRun {}: the exec'd process outlived SIGTERM; sending SIGKILL",
                   request_.to_string());
  }
  {
    std::lock_guard lock(mu_);
    kill_failure_ = last.ok() ? "it did not end after SIGKILL" : last.message();
  }
  spdlog::warn("CommandRun {}: cannot kill the exec'd process ({}); no longer following it",
               request_.to_string(), kill_failure_);
  exec_stop_.request_stop();
}

bool CommandRunAttempt::exec_ended() {
  std::lock_guard lock(mu_);
  return exec_ended_;
}
void CommandRunAttempt::set_exec_ended() {
  {
    std::lock_guard lock(mu_);
    exec_ended_ = true;
  }
  exec_cv_.notify_all();
}

AttemptOutcome CommandRunAttempt::run_container(const docker::ContainerSpec& spec, std::string id,
                                                const CommandRunTarget& target,
                                                std::stop_token stop) {
  AttemptOutcome o;
  int64_t skip_out = 0, skip_err = 0;
  const bool reattach = !id.empty();
  if (id.empty()) {
    auto created = docker_.create_container(spec);
    if (!created.ok()) return creation_failed(created.status(), "container");
    id = *created;
  } else {
    // Re-attach: the store may hold part of this attempt's output already.
    auto held = stored_output(logs_.store(), uid_, number_);
    if (!held.ok()) {
      o.detached = true;  // try again on the next reconcile
      return o;
    }
    skip_out = held->stdout_bytes;
    skip_err = held->stderr_bytes;
  }
  {
    std::lock_guard lock(mu_);
    container_id_ = id;
    if (cancelled_) (void)docker_.kill_container(id);
  }
  RunOutput output(logs_, uid_, number_, skip_out, skip_err, clock_, output_options_);
  // A detach must not wait for a slow store: the producer's blocked write() returns.
  std::stop_callback abandon_on_stop(stop, [&] { output.abandon(); });
  auto to_output = [&output](docker::StreamKind kind, std::string_view bytes) {
    return write_output(output, kind, bytes);
  };

  // A re-attached container that ran already is never started again (that would run the
  // command twice); one created but never started (the controller stopped in between) is.
  bool never_started = true;
  if (reattach) {
    auto info = docker_.inspect_container(id);
    never_started = info.ok() && info->state.status == "created";
  }

  // The output of a container not started yet is captured through attach, set up before the
  // start so nothing is lost: it carries the bytes as written, at once (`docker logs` holds an
  // unfinished last line back until its newline, and its json-file driver does not keep
  // binary bytes). stdin, when asked for, goes through the same attach. Back-pressure: a
  // blocked write() stops reading the attach stream, and dockerd then blocks the container's
  // writes. A container that ran already (a controller restart) is followed through its logs.
  int64_t attached_bytes[2] = {0, 0};  // by stream; the attach thread's until it is joined
  Status attach_status;                // set by the attach thread
  bool attached = false;
  std::promise<bool> attach_ready;  // outlives the attach thread, which sets it
  std::jthread attach_thread;
  if (never_started) {
    auto attach_ready_future = attach_ready.get_future();
    std::shared_ptr<StdinPipe> pipe = target.stdin ? logs_.stdin_pipe(uid_) : nullptr;
    attach_thread = std::jthread([&, id, pipe](std::stop_token st) {
      docker::AttachOptions a;
      a.stream = true;
      a.stdin_pipe = pipe;
      bool signalled = false;
      a.on_attached = [&] {
        signalled = true;
        attach_ready.set_value(true);
      };
      attach_status = docker_.attach_container(
          id, a,
          [&](docker::StreamKind kind, std::string_view bytes) {
            attached_bytes[kind == docker::StreamKind::kStderr ? 1 : 0] +=
                static_cast<int64_t>(bytes.size());
            return to_output(kind, bytes);
          },
          st);
      if (!signalled) attach_ready.set_value(false);
    });
    attached = attach_ready_future.get();
    if (!attached) {
      attach_thread.join();
      spdlog::warn("CommandRun {}: cannot attach to container {} ({}); following its logs",
                   request_.to_string(), id.substr(0, 12), attach_status.message());
    }
  }
  // The detach reaches the attach stream too.
  std::stop_callback stop_attach(stop, [&] { attach_thread.request_stop(); });

  Status started = never_started ? docker_.start_container(id) : Status::Ok();
  if (!started.ok()) {
    attach_thread.request_stop();
    if (attach_thread.joinable()) attach_thread.join();
    o = start_error(started);
    (void)output.close();
    o.log_bytes = output.log_bytes();
    return o;
  }
  std::jthread deadline;
  if (target.timeout) deadline = container_deadline(id, *target.timeout);

  // Follows until the container's output ends (it exited), or a detach.
  Status followed;
  int64_t replayed_skip[2] = {0, 0};  // bytes `docker logs` replays that attach delivered
  if (attached) {
    attach_thread.join();
    followed = attach_status;
    replayed_skip[0] = attached_bytes[0];
    replayed_skip[1] = attached_bytes[1];
    if (!followed.ok() && !stop.stop_requested() && !detached_) {
      // The attach stream broke (dockerd restarted?): the logs have the rest.
      spdlog::warn("CommandRun {}: the attach stream broke ({}); following the logs",
                   request_.to_string(), followed.message());
    }
  }
  if (!attached || (!followed.ok() && !stop.stop_requested() && !detached_)) {
    followed = follow_logs(id, replayed_skip, output, stop);
  }
  return container_outcome(id, followed, output, deadline, stop);
}

std::jthread CommandRunAttempt::container_deadline(const std::string& id,
                                                   std::chrono::seconds timeout) {
  auto since = std::chrono::system_clock::now();
  auto info = docker_.inspect_container(id);
  std::chrono::system_clock::time_point t;
  if (info.ok() && parse_rfc3339(info->state.started_at, &t)) since = t;
  return deadline_watch(since, timeout);
}

Status CommandRunAttempt::follow_logs(const std::string& id, int64_t (&skip)[2], RunOutput& output,
                                      std::stop_token stop) {
  return docker_.container_logs(
      id, {.follow = true},
      [&](docker::StreamKind kind, std::string_view bytes) {
        int64_t& left = skip[kind == docker::StreamKind::kStderr ? 1 : 0];
        size_t n = static_cast<size_t>(std::min<int64_t>(left, std::ssize(bytes)));
        left -= static_cast<int64_t>(n);
        bytes.remove_prefix(n);
        return bytes.empty() || write_output(output, kind, bytes);
      },
      stop);
}

AttemptOutcome CommandRunAttempt::container_outcome(const std::string& id, const Status& followed,
                                                    RunOutput& output, std::jthread& deadline,
                                                    std::stop_token stop) {
  AttemptOutcome o;
  if (stop.stop_requested() || detached_) {
    output.abandon();
    o.detached = true;
    return o;
  }
  auto waited = docker_.wait_container(id, docker::WaitCondition::kNotRunning, stop);
  deadline.request_stop();
  Status stored = output.close();
  o.log_bytes = output.log_bytes();
  if (stop.stop_requested() || detached_) {
    o.detached = true;
    return o;
  }
  if (!stored.ok()) {
    o.reason = "OutputLost";
    o.message = "cannot store the output: " + stored.message();
    return o;
  }
  if (!followed.ok()) {
    spdlog::warn("CommandRun {}: following the output ended early: {}", request_.to_string(),
                 followed.message());
  }
  if (!waited.ok()) {
    o.reason = "ContainerLost";
    o.message = "cannot get the exit code: " + waited.status().message();
    return o;
  }
  o.exit_code = waited->exit_code;
  finish(o);
  return o;
}

// An exec in the Service's container: started here with its output followed, or (re-attached
// after a restart) watched through exec inspect until it ends.
AttemptOutcome CommandRunAttempt::run_exec(const CommandRunTarget& target, std::stop_token stop) {
  AttemptOutcome o;
  // A detach (or a kill that did not work) stops following.
  std::stop_callback forward(stop, [this] { exec_stop_.request_stop(); });
  std::jthread deadline;
  if (target.timeout) deadline = deadline_watch(target.exec_started, *target.timeout);
  Status followed;
  Status stored;
  if (target.exec_adopted) {
    o.note =
        "; the controller restarted while it ran, and Docker cannot attach to a running exec "
        "again: what it printed from then on is not stored";
    followed = watch_exec(target.exec_id);
    auto summary = logs_.store().log_summary(uid_);
    o.log_bytes = summary.ok() ? summary->bytes : 0;
  } else {
    RunOutput output(logs_, uid_, number_, 0, 0, clock_, output_options_);
    bool cancelled_before_start;
    {
      std::lock_guard lock(mu_);
      cancelled_before_start = cancelled_;
    }
    if (!cancelled_before_start) {
      docker::ExecStartOptions start;
      if (target.stdin) start.stdin_pipe = logs_.stdin_pipe(uid_);
      followed = docker_.start_exec(
          target.exec_id, start,
          [&](docker::StreamKind kind, std::string_view bytes) {
            return output.write(
                kind == docker::StreamKind::kStderr ? LogStream::kStderr : LogStream::kStdout,
                bytes);
          },
          exec_stop_.get_token());
    }
    set_exec_ended();
    if (detached_) {
      output.abandon();
      o.detached = true;
      return o;
    }
    stored = output.close();
    o.log_bytes = output.log_bytes();
    if (cancelled_before_start) {
      finish(o);  // Cancelled; it never ran
      return o;
    }
  }
  set_exec_ended();
  deadline.request_stop();
  // The killer's verdict is final once it has ended.
  std::jthread killer;
  {
    std::lock_guard lock(mu_);
    killer = std::move(killer_);
  }
  if (killer.joinable()) killer.join();
  if (detached_) {
    o.detached = true;
    return o;
  }
  if (!stored.ok()) {
    o.reason = "OutputLost";
    o.message = "cannot store the output: " + stored.message();
    return o;
  }
  // The exit code; dockerd may record it a moment after the output ends.
  Result<docker::ExecInfo> info = Status::Internal("not inspected");
  for (auto until = std::chrono::steady_clock::now() + 2s;;) {
    info = docker_.inspect_exec(target.exec_id);
    if (!info.ok() || !info->running || exec_stop_.stop_requested() ||
        std::chrono::steady_clock::now() > until) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (info.ok() && info->exit_code && target.exec_adopted &&
      *info->exit_code == kBrokenExecStream) {
    o.reason = "Lost";
    o.message =
        "attempt " + std::to_string(number_) + " ended, but " + std::string(kExitCodeLost) + o.note;
    return o;
  }
  if (info.ok() && info->exit_code) {
    o.exit_code = *info->exit_code;
    finish(o);
    if (target.exec_wrapped) {
      // Best effort: the pid file goes with the process.
      (void)run_exec_to_end(docker_, info->container_id,
                            {"/bin/sh", "-c", "rm -f \"$1\"", "sh", target.pid_file});
    }
    return o;
  }
  std::string kill_failure;
  {
    std::lock_guard lock(mu_);
    kill_failure = kill_failure_;
  }
  if (!kill_failure.empty()) {
    // Timed out or cancelled, but the process could not be killed.
    finish(o);
    o.message += "; the process could not be killed (" + kill_failure +
                 ") and may still run in the Service's container";
    return o;
  }
  o.reason = target.exec_adopted && !followed.ok() && followed.code() == Code::kNotFound
                 ? "Lost"
                 : "ExecError";
  if (!followed.ok()) {
    o.message = (target.exec_adopted ? "cannot follow the exec: " : "the exec failed: ") +
                followed.message();
  } else {
    o.message = "cannot get the exit code of the exec" +
                (info.ok() ? std::string() : ": " + info.status().message());
  }
  return o;
}

// Inspects the exec every poll_interval_ until it no longer runs or following stops.
Status CommandRunAttempt::watch_exec(const std::string& exec_id) {
  for (;;) {
    auto info = docker_.inspect_exec(exec_id);
    if (!info.ok()) return info.status();
    if (!info->running) return Status::Ok();
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    auto token = exec_stop_.get_token();
    cv.wait_for(lock, token, poll_interval_, [] { return false; });
    if (token.stop_requested()) return Status::Ok();
  }
}

// Names the outcome of an attempt that ran to an exit code.
void CommandRunAttempt::finish(AttemptOutcome& o) {
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    cancelled = cancelled_;
  }
  name_outcome(o, number_, cancelled, timed_out_);
}

}  // namespace cenv
