#pragma once
// One attempt of a CommandRun (commandrun.h), on a thread of its own: starts (or re-attaches
// to) the attempt's container, or starts (or watches) the exec in a Service's container;
// follows its output into the store through RunOutput; kills it at its timeout or on cancel;
// waits for the exit code and names the outcome; then notifies. The reconciler records the
// outcome (commandrun_status.h).
//
// Thread-safe: cancel(), detach(), join(), done() and outcome() may be called from any thread
// while the attempt runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "api/clock.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/reconciler.h"
#include "controller/store/log_hub.h"
#include "reconcilers/commandrun_status.h"
#include "reconcilers/commandrun_target.h"
#include "reconcilers/exec_process.h"
#include "reconcilers/run_attempt.h"
#include "reconcilers/run_output.h"

namespace cenv {

// Docker (20.10) records exit code 126 for an exec whose output stream broke (the controller
// that read it stopped) once the process prints again, whatever the process returned: for a
// re-attached exec, 126 means "unknown".
inline constexpr int kBrokenExecStream = 126;
inline constexpr std::string_view kExitCodeLost =
    "Docker reports no exit code for an exec that printed after the controller that read its "
    "output went away (it says 126)";

struct CommandRunAttemptOptions {
  // Output buffering (run_output.h for the defaults).
  RunOutputOptions output;
  // How long an exec'd process has between SIGTERM and SIGKILL on timeout or cancel, and again
  // to end after SIGKILL before the attempt stops following it. Default 10 s.
  std::chrono::milliseconds exec_kill_grace{10'000};
  // How often a re-attached exec (no output stream to follow) is inspected for its end.
  // Default 500 ms.
  std::chrono::milliseconds exec_poll_interval{500};
};

class CommandRunAttempt final : public RunAttempt {
 public:
  // Attempt `number` of the run `uid` (enqueued as `request`). Every reference must outlive
  // the attempt.
  CommandRunAttempt(std::string uid, Request request, int number, docker::DockerClient& docker,
                    LogHub& logs, const Clock& clock, CommandRunAttemptOptions options);
  ~CommandRunAttempt() override;  // join()

  // Starts the thread: a new container from `spec` (container_id empty), a re-attach to
  // `container_id`, or the exec of `target` (target.exec). When it has ended, and unless
  // detached, calls `notify` with the run's request. Call once.
  void start_container(docker::ContainerSpec spec, std::string container_id,
                       const CommandRunTarget& target, std::function<void(const Request&)> notify);
  // Kills the container, or the exec'd process.
  void cancel() override;
  void detach() override;
  void join() override;
  bool done() override;
  AttemptOutcome outcome() override;
  int number() const override { return number_; }
  const std::string& uid() const override { return uid_; }

 private:
  // Kills the container once `timeout` has passed since `started`, unless stopped first.
  std::jthread deadline_watch(std::chrono::system_clock::time_point started,
                              std::chrono::seconds timeout);
  // Starts stopping the exec'd process (once): SIGTERM, SIGKILL kill_grace_ later; should it
  // still not end (or not be signalled at all), the attempt stops following it.
  void kill_exec();
  void stop_exec(std::stop_token stop);
  bool exec_ended();
  void set_exec_ended();
  // A new container (created from `spec`), or the container `id` again after a restart:
  // started unless it ran already, its output followed (attach, else `docker logs`) until
  // it ends, then container_outcome().
  AttemptOutcome run_container(const docker::ContainerSpec& spec, std::string id,
                               const CommandRunTarget& target, std::stop_token stop);
  // The deadline of container `id`: `timeout` from its start.
  std::jthread container_deadline(const std::string& id, std::chrono::seconds timeout);
  // Follows the output of container `id` through `docker logs` into `output`, skipping the
  // first skip[0] bytes of stdout and skip[1] of stderr (those attach delivered already).
  Status follow_logs(const std::string& id, int64_t (&skip)[2], RunOutput& output,
                     std::stop_token stop);
  // After the output of container `id` ended: its exit code and the stored output make the
  // outcome (detached when following stopped).
  AttemptOutcome container_outcome(const std::string& id, const Status& followed, RunOutput& output,
                                   std::jthread& deadline, std::stop_token stop);
  // An exec in the Service's container: started here with its output followed, or (re-attached
  // after a restart) watched through exec inspect until it ends.
  AttemptOutcome run_exec(const CommandRunTarget& target, std::stop_token stop);
  // Inspects the exec every poll_interval_ until it no longer runs or following stops.
  Status watch_exec(const std::string& exec_id);
  // Names the outcome of an attempt that ran to an exit code.
  void finish(AttemptOutcome& o);

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
  AttemptOutcome outcome_;                   // guarded by mu_
  std::optional<ExecProcess> exec_process_;  // set (under mu_) before the thread starts
  std::condition_variable_any exec_cv_;      // notified when exec_ended_ is set
  bool exec_ended_ = false;                  // guarded by mu_
  bool killing_ = false;                     // guarded by mu_
  std::string kill_failure_;                 // guarded by mu_; why the process lives on
  std::jthread killer_;                      // guarded by mu_; stop_exec()
  std::jthread thread_;
};

}  // namespace cenv
