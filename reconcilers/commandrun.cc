#include "reconcilers/commandrun.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "controller/runtime/finalizers.h"
#include "controller/runtime/status_util.h"
#include "reconcilers/container_env.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/exec_process.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kPending = "Pending";
constexpr std::string_view kRunning = "Running";
constexpr std::string_view kSucceeded = "Succeeded";
constexpr std::string_view kFailed = "Failed";
constexpr std::string_view kCancelled = "Cancelled";

std::string str(const json::object* o, std::string_view key) {
  return o ? std::string(Object::str_field(*o, key)) : std::string();
}

std::optional<int64_t> int_field(const json::object* o, std::string_view key) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_int64()) return std::nullopt;
  return it->value().as_int64();
}

std::string phase_of(const Object& run) { return str(run.status_or_null(), "phase"); }

std::vector<std::string> strings(const json::object* o, std::string_view key) {
  std::vector<std::string> out;
  if (!o) return out;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

// "cenv-<ns>-<name>.<attempt>": the dot keeps it apart from every Service's container name.
std::string attempt_container_name(const DockerNames& names, const Object& run, int attempt) {
  return names.container(run.ns(), run.name()) + "." + std::to_string(attempt);
}

// Docker label filters: every container of the run with this uid / of its attempt `number`.
std::vector<std::string> uid_filters(const DockerNames& names, const std::string& uid) {
  std::vector<std::string> out = names.managed_filters();
  out.push_back(std::string(kLabelUid) + "=" + uid);
  return out;
}
std::vector<std::string> attempt_filters(const DockerNames& names, const std::string& uid,
                                         int number) {
  std::vector<std::string> out = uid_filters(names, uid);
  out.push_back(std::string(kLabelAttempt) + "=" + std::to_string(number));
  return out;
}

// RFC 3339 with milliseconds (format_rfc3339 keeps whole seconds; back-off delays may be
// shorter), and its parser.
std::string format_time_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto whole = std::chrono::system_clock::time_point(std::chrono::seconds(ms / 1000));
  std::string text = format_rfc3339(whole);  // ...Z
  char frac[8];
  snprintf(frac, sizeof frac, ".%03lldZ", static_cast<long long>(ms % 1000));
  text.pop_back();
  return text + frac;
}
bool parse_time_ms(std::string_view text, std::chrono::system_clock::time_point* out) {
  if (!parse_rfc3339(text, out)) return false;
  // parse_rfc3339 ignores a fraction of a second: add its milliseconds.
  if (text.size() > 20 && text[19] == '.') {
    int ms = 0, digits = 0;
    for (size_t i = 20;
         i < text.size() && digits < 3 && isdigit(static_cast<unsigned char>(text[i]));
         ++i, ++digits) {
      ms = ms * 10 + (text[i] - '0');
    }
    for (; digits < 3; ++digits) ms *= 10;
    *out += std::chrono::milliseconds(ms);
  }
  return true;
}

// Docker (20.10) records exit code 126 for an exec whose output stream broke (the controller
// that read it stopped) once the process prints again, whatever the process returned: for a
// re-attached exec, 126 means "unknown".
constexpr int kBrokenExecStream = 126;
constexpr std::string_view kExitCodeLost =
    "Docker reports no exit code for an exec that printed after the controller that read its "
    "output went away (it says 126)";

// "200ms", "10s", "6m", "1m30s": a delay as a person reads it.
std::string format_delay(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto secs = (ms + 999) / 1000;
  if (secs < 60) return std::to_string(secs) + "s";
  std::string out = std::to_string(secs / 60) + "m";
  if (secs % 60) out += std::to_string(secs % 60) + "s";
  return out;
}

std::string spec_hash(const Object& run) {
  const json::object* spec = run.spec_or_null();
  size_t h = std::hash<std::string>{}(spec ? json::serialize(*spec) : std::string());
  char buf[17];
  snprintf(buf, sizeof buf, "%016zx", h);
  return buf;
}

}  // namespace

// Where and how an attempt runs, resolved from the run, its Environment and its Service.
struct CommandRunReconciler::Target {
  bool exec = false;
  std::string container;  // exec: the Service's container id
  std::string image;      // new container: the image
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string working_dir;
  bool stdin = false;
  std::optional<std::chrono::seconds> timeout;
  // exec: the exec (created before the attempt is recorded), whether it runs through the
  // pid-recording wrapper, its pid file, when it was created, and whether it is an exec that
  // ran before a controller restart (no output stream to attach to: watched by inspect).
  std::string exec_id;
  bool exec_wrapped = false;
  std::string pid_file;
  std::chrono::system_clock::time_point exec_started{};
  bool exec_adopted = false;
};

// One attempt of a run, on its own thread: start (or re-attach to) the container, follow its
// output into the store, wait for the exit code, then notify.
struct CommandRunReconciler::AttemptOutcome {
  int exit_code = -1;
  std::string reason;   // for a failure: NonZeroExit, DeadlineExceeded, StartError, ...
  std::string message;  // for a failure: what happened, for the Failed condition
  bool cancelled = false;
  bool detached = false;  // the controller stopped watching; the attempt may go on
  int64_t log_bytes = 0;
  std::string note;  // appended to the messages of the outcome (output lost on a re-attach)
};

class CommandRunReconciler::Attempt {
 public:
  using Outcome = AttemptOutcome;

  Attempt(std::string uid, Request request, int number, docker::DockerClient& docker, LogHub& logs,
          const Clock& clock, const CommandRunReconcilerOptions& options)
      : uid_(std::move(uid)),
        request_(std::move(request)),
        number_(number),
        docker_(docker),
        logs_(logs),
        clock_(clock),
        output_options_(options.output),
        kill_grace_(options.exec_kill_grace),
        poll_interval_(options.exec_poll_interval) {}

  ~Attempt() { join(); }

  // Starts the thread: a new container from `spec`, a re-attach to `container_id`, or an exec.
  void start_container(docker::ContainerSpec spec, std::string container_id, const Target& target,
                       std::function<void(const Request&)> notify) {
    if (target.exec) {
      std::lock_guard lock(mu_);
      exec_process_.emplace(docker_, target.exec_id, target.pid_file, target.exec_wrapped);
    }
    thread_ = std::jthread([this, spec = std::move(spec), id = std::move(container_id), target,
                            notify = std::move(notify)](std::stop_token stop) mutable {
      Outcome o = target.exec ? run_exec(target, stop) : run_container(spec, id, target, stop);
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
  void cancel() {
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
  void detach() {
    detached_ = true;
    thread_.request_stop();
    exec_stop_.request_stop();
    // A kill under way is dropped too: the next controller kills again (the deadline still
    // holds; a deleted run's exec is killed by finalize()).
    std::lock_guard lock(mu_);
    killer_.request_stop();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
    std::jthread killer;
    {
      std::lock_guard lock(mu_);
      killer = std::move(killer_);
    }
    if (killer.joinable()) killer.join();
  }
  bool done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  Outcome outcome() {
    std::lock_guard lock(mu_);
    return outcome_;
  }
  int number() const { return number_; }
  const std::string& uid() const { return uid_; }

 private:
  // Kills the container once `timeout` has passed since `started`, unless stopped first.
  std::jthread deadline_watch(std::chrono::system_clock::time_point started,
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
  void kill_exec() {
    std::lock_guard lock(mu_);
    if (!exec_process_ || killing_) return;
    killing_ = true;
    killer_ = std::jthread([this](std::stop_token stop) { stop_exec(stop); });
  }

  void stop_exec(std::stop_token stop) {
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

  bool exec_ended() {
    std::lock_guard lock(mu_);
    return exec_ended_;
  }
  void set_exec_ended() {
    {
      std::lock_guard lock(mu_);
      exec_ended_ = true;
    }
    exec_cv_.notify_all();
  }

  Outcome run_container(const docker::ContainerSpec& spec, std::string id, const Target& target,
                        std::stop_token stop) {
    Outcome o;
    int64_t skip_out = 0, skip_err = 0;
    const bool reattach = !id.empty();
    if (id.empty()) {
      auto created = docker_.create_container(spec);
      if (!created.ok()) {
        o.reason = created.status().code() == Code::kNotFound ? "ImageNotFound" : "CreateError";
        o.message = "cannot create the container: " + created.status().message();
        o.exit_code = 125;
        return o;
      }
      id = *created;
    } else {
      // Re-attach: the store may hold part of this attempt's output already.
      auto summary = logs_.store().log_summary(uid_);
      if (!summary.ok()) {
        o.detached = true;  // try again on the next reconcile
        return o;
      }
      skip_out = summary->bytes_of(number_, LogStream::kStdout);
      skip_err = summary->bytes_of(number_, LogStream::kStderr);
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
      return output.write(
          kind == docker::StreamKind::kStderr ? LogStream::kStderr : LogStream::kStdout, bytes);
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
      std::shared_ptr<docker::StdinPipe> pipe = target.stdin ? logs_.stdin_pipe(uid_) : nullptr;
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
      o.reason = "StartError";
      o.message = "cannot start the command: " + started.message();
      // As `docker run` does: 127 when the command is not found, 126 when it cannot run.
      const std::string& m = started.message();
      o.exit_code =
          m.find("not found") != std::string::npos || m.find("no such file") != std::string::npos
              ? 127
              : 126;
      (void)output.close();
      o.log_bytes = output.log_bytes();
      return o;
    }
    std::jthread deadline;
    if (target.timeout) {
      auto since = std::chrono::system_clock::now();
      auto info = docker_.inspect_container(id);
      std::chrono::system_clock::time_point t;
      if (info.ok() && parse_rfc3339(info->state.started_at, &t)) since = t;
      deadline = deadline_watch(since, *target.timeout);
    }

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
      followed = docker_.container_logs(
          id, {.follow = true},
          [&](docker::StreamKind kind, std::string_view bytes) {
            int64_t& skip = replayed_skip[kind == docker::StreamKind::kStderr ? 1 : 0];
            size_t n = static_cast<size_t>(std::min<int64_t>(skip, std::ssize(bytes)));
            skip -= static_cast<int64_t>(n);
            bytes.remove_prefix(n);
            return bytes.empty() || to_output(kind, bytes);
          },
          stop);
    }
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
  Outcome run_exec(const Target& target, std::stop_token stop) {
    Outcome o;
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
      o.message = "attempt " + std::to_string(number_) + " ended, but " +
                  std::string(kExitCodeLost) + o.note;
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
  Status watch_exec(const std::string& exec_id) {
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
  void finish(Outcome& o) {
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    if (cancelled) {
      o.cancelled = true;
      o.reason = "Cancelled";
      o.message = "the CommandRun was deleted while it ran";
    } else if (timed_out_) {
      o.reason = "DeadlineExceeded";
      o.message = "attempt " + std::to_string(number_) + " ran longer than timeoutSeconds";
    } else if (o.exit_code != 0) {
      o.reason = "NonZeroExit";
      o.message =
          "attempt " + std::to_string(number_) + " exited with code " + std::to_string(o.exit_code);
    }
    if (!o.message.empty()) o.message += o.note;
  }

  const std::string uid_;
  const Request request_;
  const int number_;
  docker::DockerClient& docker_;
  LogHub& logs_;
  const Clock& clock_;
  const RunOutputOptions output_options_;
  const std::chrono::milliseconds kill_grace_;
  const std::chrono::milliseconds poll_interval_;

  std::atomic<bool> timed_out_{false};
  std::atomic<bool> detached_{false};
  std::stop_source exec_stop_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  std::string container_id_;                 // guarded by mu_
  bool cancelled_ = false;                   // guarded by mu_
  bool done_ = false;                        // guarded by mu_
  Outcome outcome_;                          // guarded by mu_
  std::optional<ExecProcess> exec_process_;  // set (under mu_) before the thread starts
  std::condition_variable_any exec_cv_;      // notified when exec_ended_ is set
  bool exec_ended_ = false;                  // guarded by mu_
  bool killing_ = false;                     // guarded by mu_
  std::string kill_failure_;                 // guarded by mu_; why the process lives on
  std::jthread killer_;                      // guarded by mu_; stop_exec()
  std::jthread thread_;
};

CommandRunReconciler::CommandRunReconciler(Client& client, DockerConnection& docker, LogHub& logs,
                                           const Clock& clock, CommandRunReconcilerOptions options)
    : client_(client), docker_(docker), logs_(logs), clock_(clock), options_(std::move(options)) {}

CommandRunReconciler::~CommandRunReconciler() { stop(); }

std::chrono::milliseconds retry_delay(const CommandRunReconcilerOptions& options,
                                      int failed_attempts) {
  std::chrono::milliseconds d = options.backoff_base;
  for (int i = 1; i < failed_attempts && d < options.backoff_max; ++i) d *= 2;
  return std::min(d, options.backoff_max);
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
  std::map<std::string, std::shared_ptr<Attempt>> attempts;
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

std::shared_ptr<CommandRunReconciler::Attempt> CommandRunReconciler::find(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = attempts_.find(uid);
  return it == attempts_.end() ? nullptr : it->second;
}

Result<Object> CommandRunReconciler::write_status(Object run) {
  set_observed_generation(run);
  return client_.update_status(run);
}

Status CommandRunReconciler::remove_containers(const std::string& uid,
                                               docker::DockerClient& docker) {
  auto list =
      docker.list_containers({.all = true, .label_filters = uid_filters(options_.names, uid)});
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
  const std::string phase = phase_of(run);
  if (phase == kSucceeded || phase == kFailed || phase == kCancelled) return finished(run);

  const std::string uid(run.uid());
  if (auto attempt = find(uid)) {
    if (!attempt->done()) {
      // It notifies when it ends; meanwhile status.logBytes follows the stored output.
      auto summary = logs_.store().log_summary(uid);
      if (summary.ok() && int_field(run.status_or_null(), "logBytes") != summary->bytes) {
        run.status()["logBytes"] = summary->bytes;
        auto written = write_status(run);
        if (!written.ok()) return ReconcileResult::failed(written.status());
      }
      return ReconcileResult::after(options_.log_bytes_interval);
    }
    return conclude(std::move(run), attempt);
  }
  // Backing off after a failed attempt: the next one starts at nextAttemptTime.
  std::chrono::system_clock::time_point next;
  if (phase != kRunning && parse_time_ms(str(run.status_or_null(), "nextAttemptTime"), &next)) {
    auto now = clock_.now();
    if (now < next) {
      return ReconcileResult::after(std::chrono::ceil<std::chrono::milliseconds>(next - now));
    }
  }
  auto docker = docker_.client();
  if (!docker.ok()) return ReconcileResult::failed(docker.status());
  if (phase == kRunning) return adopt(std::move(run), **docker);
  const int attempts = static_cast<int>(int_field(run.status_or_null(), "attempts").value_or(0));
  return start_attempt(std::move(run), attempts + 1, **docker);
}

// A Running run without an attempt in memory: the controller restarted (or the attempt's
// thread could not read the store). Re-attach to the attempt's container when there is one.
ReconcileResult CommandRunReconciler::adopt(Object run, docker::DockerClient& docker) {
  const std::string uid(run.uid());
  const int number = static_cast<int>(int_field(run.status_or_null(), "attempts").value_or(0));
  const bool exec = !str(run.spec_or_null(), "service").empty();
  if (number > 0 && !exec) {
    auto list = docker.list_containers(
        {.all = true, .label_filters = attempt_filters(options_.names, uid, number)});
    if (!list.ok()) return ReconcileResult::failed(list.status());
    if (!list->empty()) {
      auto target = resolve(run, docker);
      Target t = target.ok() ? *target : Target{};
      t.exec = false;
      if (!target.ok()) {
        // The target no longer resolves (an Environment changed): the container still
        // runs what it was given; only timeout and stdin matter here.
        auto timeout = int_field(run.spec_or_null(), "timeoutSeconds");
        if (timeout) t.timeout = std::chrono::seconds(*timeout);
      }
      t.stdin = false;  // stdin cannot be re-attached with its earlier input
      spdlog::info("CommandRun {}: re-attaching to attempt {} (container {})",
                   Request::from(run).to_string(), number, list->front().id.substr(0, 12));
      auto attempt = std::make_shared<Attempt>(uid, Request::from(run), number, docker, logs_,
                                               clock_, options_);
      return launch(attempt, {}, list->front().id, t);
    }
    // No container: it was never created (the controller stopped right after recording the
    // attempt) when nothing of it is stored; start that attempt again then.
    auto summary = logs_.store().log_summary(uid);
    if (!summary.ok()) return ReconcileResult::failed(summary.status());
    if (summary->bytes_of(number, LogStream::kStdout) == 0 &&
        summary->bytes_of(number, LogStream::kStderr) == 0) {
      return start_attempt(std::move(run), number, docker);
    }
  }
  if (number == 0) return start_attempt(std::move(run), 1, docker);
  if (exec) return adopt_exec(std::move(run), number, docker);
  Attempt::Outcome o;
  o.reason = "Lost";
  o.message = exec ? "the controller restarted during the exec; Docker keeps no output of an "
                     "exec, so the attempt cannot be followed again"
                   : "the container of attempt " + std::to_string(number) + " is gone";
  auto summary = logs_.store().log_summary(uid);
  o.log_bytes = summary.ok() ? summary->bytes : 0;
  return record(std::move(run), number, o);
}

// A Running exec run without an attempt in memory: re-attach to its exec (status.exec.id) as
// far as Docker allows (commandrun.h).
ReconcileResult CommandRunReconciler::adopt_exec(Object run, int number,
                                                 docker::DockerClient& docker) {
  const std::string uid(run.uid());
  const json::object* status = run.status_or_null();
  const json::object* exec_status = nullptr;
  if (status) {
    auto it = status->find("exec");
    if (it != status->end() && it->value().is_object()) exec_status = &it->value().as_object();
  }
  const std::string id = str(exec_status, "id");
  AttemptOutcome o;
  auto summary = logs_.store().log_summary(uid);
  o.log_bytes = summary.ok() ? summary->bytes : 0;
  o.reason = "Lost";
  if (id.empty()) {
    o.message = "the controller restarted during the exec of attempt " + std::to_string(number) +
                ", and the attempt names no exec to re-attach to";
    return record(std::move(run), number, o);
  }
  auto info = docker.inspect_exec(id);
  if (!info.ok()) {
    if (info.status().code() != Code::kNotFound) return ReconcileResult::failed(info.status());
    o.message = "the exec of attempt " + std::to_string(number) +
                " is gone (its container stopped, or it ended while the controller was down and "
                "Docker no longer keeps it), so its exit code is unknown";
    return record(std::move(run), number, o);
  }
  const std::string note =
      "; the controller restarted while it ran, and Docker cannot attach to a running exec "
      "again: what it printed from then on is not stored";
  if (!info->running && info->exit_code && *info->exit_code == kBrokenExecStream) {
    o.message = "attempt " + std::to_string(number) + " ended while the controller was down, but " +
                std::string(kExitCodeLost) + note;
    return record(std::move(run), number, o);
  }
  if (!info->running && info->exit_code) {
    // It ended while the controller was down.
    o.exit_code = *info->exit_code;
    o.note = note;
    if (o.exit_code != 0) {
      o.reason = "NonZeroExit";
      o.message = "attempt " + std::to_string(number) + " exited with code " +
                  std::to_string(o.exit_code) + note;
    } else {
      o.reason.clear();
    }
    spdlog::info(
        "CommandRun {}: exec {} of attempt {} ended with code {} while the controller "
        "was down",
        Request::from(run).to_string(), id.substr(0, 12), number, o.exit_code);
    return record(std::move(run), number, o);
  }
  Target t;
  t.exec = true;
  t.container = info->container_id;
  t.exec_id = id;
  t.pid_file = exec_pid_file(uid, number);
  // Wrapped iff the container has /bin/sh (as when it was created); unknown: try the pid file
  // (ExecProcess falls back to the host pid).
  auto shell = has_shell(docker, t.container);
  t.exec_wrapped = !shell.ok() || *shell;
  if (auto timeout = int_field(run.spec_or_null(), "timeoutSeconds")) {
    t.timeout = std::chrono::seconds(*timeout);
  }
  t.exec_started = clock_.now();
  (void)parse_time_ms(str(exec_status, "startTime"), &t.exec_started);
  if (info->running) {
    t.exec_adopted = true;
    t.stdin = false;
    spdlog::info(
        "CommandRun {}: re-attaching to attempt {} (exec {}); its output from now on is "
        "not stored",
        Request::from(run).to_string(), number, id.substr(0, 12));
    auto now = clock_.now();
    set_condition(run, "Ready", kConditionFalse, "Running",
                  "attempt " + std::to_string(number) + " is running" + note, run.generation(),
                  now);
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    run = std::move(written).value();
  } else {
    // Created, never started (the controller stopped in between): start it now.
    auto stdin_it = run.spec_or_null() ? run.spec_or_null()->find("stdin") : nullptr;
    t.stdin = run.spec_or_null() && stdin_it != run.spec_or_null()->end() &&
              stdin_it->value().is_bool() && stdin_it->value().as_bool();
    t.exec_started = clock_.now();
  }
  auto attempt =
      std::make_shared<Attempt>(uid, Request::from(run), number, docker, logs_, clock_, options_);
  return launch(attempt, {}, "", t);
}

Result<CommandRunReconciler::Target> CommandRunReconciler::resolve(const Object& run,
                                                                   docker::DockerClient& docker) {
  const json::object* spec = run.spec_or_null();
  Target t;
  t.command = strings(spec, "command");
  const std::string module = str(spec, "module");
  if (!module.empty()) {
    // A module command: spec.commands of the Module's status, as resolved by its reconciler.
    auto m = client_.get({"Module", std::string(run.ns()), module});
    if (!m.ok()) {
      return Status::FailedPrecondition("waiting for Module \"" + module +
                                        "\": " + m.status().message());
    }
    const json::object* commands = nullptr;
    if (const json::object* st = m->status_or_null()) {
      auto it = st->find("commands");
      if (it != st->end() && it->value().is_object()) commands = &it->value().as_object();
    }
    const std::string name = str(spec, "moduleCommand");
    auto it = commands ? commands->find(name) : nullptr;
    if (!commands || it == commands->end() || !it->value().is_object()) {
      return Status::FailedPrecondition("waiting for Module \"" + module +
                                        "\" to publish its command \"" + name + "\"");
    }
    t.command = strings(&it->value().as_object(), "command");
  }
  for (auto& a : strings(spec, "args")) t.command.push_back(std::move(a));
  if (t.command.empty()) return Status::Invalid("spec.command: Required value: nothing to run");

  auto env = client_.get({"Environment", "", std::string(run.ns())});
  if (!env.ok())
    return Status::FailedPrecondition("waiting for Environment \"" + std::string(run.ns()) +
                                      "\": " + env.status().message());
  const json::object* env_spec = env->spec_or_null();
  auto vars = container_env(run, *env);
  if (!vars.ok()) return vars.status();
  t.env = std::move(vars).value();
  t.working_dir = str(spec, "workingDir");
  if (auto timeout = int_field(spec, "timeoutSeconds")) t.timeout = std::chrono::seconds(*timeout);
  auto stdin_it = spec ? spec->find("stdin") : nullptr;
  t.stdin =
      spec && stdin_it != spec->end() && stdin_it->value().is_bool() && stdin_it->value().as_bool();

  const std::string service = str(spec, "service");
  if (!service.empty()) {
    auto svc = client_.get({"Service", std::string(run.ns()), service});
    if (!svc.ok()) {
      if (svc.status().code() == Code::kNotFound) {
        return Status::NotFound("spec.service: Service \"" + service +
                                "\" does not exist in namespace \"" + std::string(run.ns()) + "\"");
      }
      return svc.status();
    }
    auto info = docker.inspect_container(options_.names.container(run.ns(), service));
    if (!info.ok() || !info->state.running || label_value(info->labels, kLabelUid) != svc->uid()) {
      return Status::FailedPrecondition("waiting for the container of Service \"" + service +
                                        "\" to run");
    }
    t.exec = true;
    t.container = info->id;
    return t;
  }
  t.image = str(spec, "image");
  if (!t.image.empty()) return t;  // missing: the create fails, naming it
  t.image = str(env->status_or_null(), "image");
  if (t.image.empty()) t.image = str(env_spec, "baseImage");
  if (t.image.empty()) {
    return Status::FailedPrecondition("waiting for Environment \"" + std::string(run.ns()) +
                                      "\" to build its runtime image");
  }
  // The runtime image may still be building (or pulling): wait for it rather than fail.
  auto image = docker.inspect_image(t.image);
  if (!image.ok()) {
    if (image.status().code() == Code::kNotFound) {
      return Status::FailedPrecondition("waiting for the runtime image " + t.image +
                                        " of Environment \"" + std::string(run.ns()) +
                                        "\" to be built");
    }
    return image.status();
  }
  return t;
}

ReconcileResult CommandRunReconciler::start_attempt(Object run, int number,
                                                    docker::DockerClient& docker) {
  const std::string uid(run.uid());
  auto now = clock_.now();
  const int64_t gen = run.generation();
  auto target = resolve(run, docker);
  if (!target.ok()) {
    const Status& s = target.status();
    if (s.code() == Code::kFailedPrecondition || s.code() == Code::kUnavailable) {
      // Waits: Pending with the reason, looked at again shortly.
      run.status()["phase"] = std::string(kPending);
      set_condition(run, "Ready", kConditionFalse, "Waiting", s.message(), gen, now);
      auto written = write_status(run);
      if (!written.ok()) return ReconcileResult::failed(written.status());
      return ReconcileResult::after(options_.wait_interval);
    }
    // Cannot ever run: fail now, clearly.
    json::object& status = run.status();
    status["phase"] = std::string(kFailed);
    status["completionTime"] = format_rfc3339(now);
    const std::string reason = s.code() == Code::kNotFound ? "ServiceNotFound" : "InvalidSpec";
    set_condition(run, "Failed", kConditionTrue, reason, s.message(), gen, now);
    set_condition(run, "Complete", kConditionFalse, reason, s.message(), gen, now);
    set_condition(run, "Ready", kConditionFalse, reason, s.message(), gen, now);
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    logs_.notify(uid);
    return finished(*written);
  }
  // Containers of earlier attempts go; their output is stored.
  if (number > 1) {
    if (Status s = remove_containers(uid, docker); !s.ok()) return ReconcileResult::failed(s);
  }
  // Recorded before the container exists, so a restart finds the attempt it belongs to.
  json::object& status = run.status();
  status.erase("nextAttemptTime");
  status.erase("exec");
  if (target->exec) {
    // The exec is created (not started) first, so the attempt's record names it and a
    // restarted controller finds it. With /bin/sh it runs through the pid-recording wrapper,
    // so that timeout and cancel can kill it.
    auto shell = has_shell(docker, target->container);
    if (!shell.ok()) {
      run.status()["phase"] = std::string(kPending);
      set_condition(run, "Ready", kConditionFalse, "Waiting",
                    "cannot look into the container of Service \"" +
                        str(run.spec_or_null(), "service") + "\": " + shell.status().message(),
                    gen, now);
      auto written = write_status(run);
      if (!written.ok()) return ReconcileResult::failed(written.status());
      return ReconcileResult::after(options_.wait_interval);
    }
    target->exec_wrapped = *shell;
    target->pid_file = exec_pid_file(uid, number);
    docker::ExecSpec es;
    es.cmd = *shell ? wrap_exec_command(target->pid_file, target->command) : target->command;
    es.env = target->env;
    es.working_dir = target->working_dir;
    es.attach_stdin = target->stdin;
    auto exec = docker.create_exec(target->container, es);
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
    target->exec_id = *exec;
    target->exec_started = now;
    status["exec"] = json::object{{"id", *exec}, {"startTime", format_time_ms(now)}};
  }
  status["phase"] = std::string(kRunning);
  status["attempts"] = number;
  if (!status.contains("startTime")) status["startTime"] = format_rfc3339(now);
  set_condition(run, "Ready", kConditionFalse, "Running",
                "attempt " + std::to_string(number) + " is running", gen, now);
  auto written = write_status(run);
  if (!written.ok()) return ReconcileResult::failed(written.status());
  run = std::move(written).value();

  docker::ContainerSpec spec;
  if (!target->exec) {
    spec.name = attempt_container_name(options_.names, run, number);
    spec.image = target->image;
    spec.cmd = target->command;
    spec.env = target->env;
    spec.working_dir = target->working_dir;
    spec.labels = options_.names.labels("CommandRun", run.ns(), run.name(), uid);
    spec.labels[std::string(kLabelSpecHash)] = spec_hash(run);
    spec.labels[std::string(kLabelAttempt)] = std::to_string(number);
    spec.open_stdin = target->stdin;
    spec.stdin_once = target->stdin;
    auto env = client_.get({"Environment", "", std::string(run.ns())});
    if (env.ok()) {
      std::string network = environment_network(*env, options_.names);
      // Joins the Environment's network when it exists (Services are reachable by name).
      if (docker.inspect_network(network).ok()) spec.network = network;
    }
    // A leftover of this very attempt (created, then the controller stopped before starting
    // it) would block the name.
    (void)docker.remove_container(spec.name, {.force = true});
  }
  auto attempt =
      std::make_shared<Attempt>(uid, Request::from(run), number, docker, logs_, clock_, options_);
  return launch(attempt, std::move(spec), "", *target);
}

ReconcileResult CommandRunReconciler::launch(const std::shared_ptr<Attempt>& attempt,
                                             docker::ContainerSpec spec, std::string container_id,
                                             const Target& target) {
  std::function<void(const Request&)> notify;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return ReconcileResult::done();
    notify = notify_;
    attempts_[attempt->uid()] = attempt;
  }
  attempt->start_container(std::move(spec), std::move(container_id), target, notify);
  return ReconcileResult::done();
}

// An attempt ended: record it, then retry, succeed or fail.
ReconcileResult CommandRunReconciler::conclude(Object run,
                                               const std::shared_ptr<Attempt>& attempt) {
  const std::string uid(run.uid());
  attempt->join();
  Attempt::Outcome o = attempt->outcome();
  {
    std::lock_guard lock(mu_);
    attempts_.erase(uid);
  }
  if (o.detached) return ReconcileResult::after(options_.wait_interval);  // adopt() next
  return record(std::move(run), attempt->number(), o);
}

ReconcileResult CommandRunReconciler::record(Object run, int number, const AttemptOutcome& o) {
  const std::string uid(run.uid());
  auto now = clock_.now();
  const int64_t gen = run.generation();
  json::object& status = run.status();
  status["exitCode"] = o.exit_code;
  status["logBytes"] = o.log_bytes;
  status.erase("exec");
  if (o.reason.empty()) {
    status["phase"] = std::string(kSucceeded);
    status["completionTime"] = format_rfc3339(now);
    const std::string msg = "attempt " + std::to_string(number) + " exited with code 0" + o.note;
    set_condition(run, "Complete", kConditionTrue, "Succeeded", msg, gen, now);
    set_condition(run, "Failed", kConditionFalse, "Succeeded", msg, gen, now);
    set_condition(run, "Ready", kConditionTrue, "Succeeded", msg, gen, now);
  } else if (!o.cancelled && number <= int_field(run.spec_or_null(), "backoffLimit").value_or(0)) {
    // Back-off, as a Kubernetes Job: Pending until nextAttemptTime, then the next attempt
    // (reconcile() starts it; a restart in between keeps the time).
    const auto delay = retry_delay(options_, number);
    const std::string msg =
        o.message + "; attempt " + std::to_string(number + 1) + " starts in " + format_delay(delay);
    spdlog::info("CommandRun {}: {}", Request::from(run).to_string(), msg);
    status["phase"] = std::string(kPending);
    status["nextAttemptTime"] = format_time_ms(now + delay);
    set_condition(run, "Ready", kConditionFalse, "BackOff", msg, gen, now);
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    logs_.notify(uid);
    if (is_being_deleted(*written)) return finalize(std::move(written).value());
    return ReconcileResult::after(delay);
  } else {
    status["phase"] = std::string(o.cancelled ? kCancelled : kFailed);
    status["completionTime"] = format_rfc3339(now);
    set_condition(run, "Failed", kConditionTrue, o.reason, o.message, gen, now);
    set_condition(run, "Complete", kConditionFalse, o.reason, o.message, gen, now);
    set_condition(run, "Ready", kConditionFalse, o.reason, o.message, gen, now);
  }
  auto written = write_status(run);
  if (!written.ok()) return ReconcileResult::failed(written.status());
  logs_.notify(uid);
  if (is_being_deleted(*written)) return finalize(std::move(written).value());
  return finished(*written);
}

// A finished run: its containers go (the output is stored), its stdin pipe too; deleted
// ttlSecondsAfterFinished after completion.
ReconcileResult CommandRunReconciler::finished(const Object& run) {
  const std::string uid(run.uid());
  logs_.release(uid);
  auto docker = docker_.client();
  if (docker.ok()) {
    if (Status s = remove_containers(uid, **docker); !s.ok()) return ReconcileResult::failed(s);
  }
  auto ttl = int_field(run.spec_or_null(), "ttlSecondsAfterFinished");
  if (!ttl) return ReconcileResult::done();
  std::chrono::system_clock::time_point completed;
  if (!parse_rfc3339(str(run.status_or_null(), "completionTime"), &completed)) {
    return ReconcileResult::done();
  }
  auto expires = completed + std::chrono::seconds(*ttl);
  auto now = clock_.now();
  if (now < expires) {
    return ReconcileResult::after(
        std::chrono::duration_cast<std::chrono::milliseconds>(expires - now) +
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
  const std::string phase = phase_of(run);
  if (phase == kRunning) {
    // Running but not followed (a restart): kill whatever runs for it. An exec's process at
    // once with SIGKILL, as a container is (no attempt thread here to wait out a grace period).
    const json::object* status = run.status_or_null();
    auto exec_it = status ? status->find("exec") : nullptr;
    if (status && exec_it != status->end() && exec_it->value().is_object()) {
      const std::string exec_id = str(&exec_it->value().as_object(), "id");
      const int number = static_cast<int>(int_field(status, "attempts").value_or(0));
      if (!exec_id.empty()) {
        Status killed =
            ExecProcess(**docker, exec_id, exec_pid_file(uid, number), true).signal(SIGKILL);
        if (!killed.ok() && killed.code() != Code::kNotFound) {
          spdlog::warn("CommandRun {}: cannot kill exec {} of the deleted run: {}",
                       Request::from(run).to_string(), exec_id.substr(0, 12), killed.message());
        }
      }
    }
    auto now = clock_.now();
    const int64_t gen = run.generation();
    run.status()["phase"] = std::string(kCancelled);
    run.status()["completionTime"] = format_rfc3339(now);
    const std::string msg = "the CommandRun was deleted while it ran";
    set_condition(run, "Failed", kConditionTrue, "Cancelled", msg, gen, now);
    set_condition(run, "Complete", kConditionFalse, "Cancelled", msg, gen, now);
    set_condition(run, "Ready", kConditionFalse, "Cancelled", msg, gen, now);
    auto written = write_status(run);
    if (!written.ok()) return ReconcileResult::failed(written.status());
    run = std::move(written).value();
  }
  if (Status s = remove_containers(uid, **docker); !s.ok()) return ReconcileResult::failed(s);
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
