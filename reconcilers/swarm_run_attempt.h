#pragma once
// A CommandRun's attempt as a one-shot Docker Swarm service (Environment.spec.runtime: swarm;
// commandrun.h): the service swarm_name("cenv-<ns>-<name>.<attempt>") of one task that is
// never restarted (restart condition none), labelled as the run's containers are (uid, spec
// hash, attempt); its task container carries the run's labels but not the attempt's. The
// attempt follows the service's logs (GET /services/{id}/logs) into the store through
// RunOutput, watches its task until it ends, reads what the follow did not deliver, and takes
// the exit code from the task's status (ContainerStatus.ExitCode). A timeout or a cancel
// scales the service to 0 (the swarm stops the task on whichever node runs it). The service
// is removed by the reconciler once the attempt is recorded (remove_run_services).
//
// Thread-safe: as RunAttempt.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/clock.h"
#include "api/object.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/reconciler.h"
#include "controller/store/log_hub.h"
#include "reconcilers/commandrun_target.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/run_attempt.h"
#include "reconcilers/run_output.h"

namespace cenv {

// The swarm service of attempt `number` of `run` (its container name, as swarm_name makes it).
std::string attempt_service_name(const DockerNames& names, const Object& run, int number);
// The one-shot service of attempt `number` of `run` at `target`, on `network` (empty: none).
docker::SwarmServiceSpec attempt_service(const DockerNames& names, const Object& run, int number,
                                         const CommandRunTarget& target,
                                         const std::string& network);
// Removes the swarm services of the run with this uid. Ok when there are none, and when the
// engine is not a swarm manager (it holds none).
Status remove_run_services(docker::DockerClient& docker, const DockerNames& names,
                           const std::string& uid);
// The id of the service of attempt `number` of run `uid`; nullopt when there is none (or the
// engine is not a swarm manager).
Result<std::optional<std::string>> find_attempt_service(docker::DockerClient& docker,
                                                        const DockerNames& names,
                                                        const std::string& uid, int number);

struct SwarmRunAttemptOptions {
  // Output buffering (run_output.h for the defaults).
  RunOutputOptions output;
  // How often the service's task is looked at for its end. Default 500 ms.
  std::chrono::milliseconds poll_interval{500};
};

class SwarmRunAttempt final : public RunAttempt {
 public:
  // Attempt `number` of the run `uid` (enqueued as `request`). Every reference must outlive
  // the attempt.
  SwarmRunAttempt(std::string uid, Request request, int number, docker::DockerClient& docker,
                  LogHub& logs, const Clock& clock, SwarmRunAttemptOptions options);
  ~SwarmRunAttempt() override;  // join()

  // Starts the thread: creates the service from `spec` (service_id empty), or follows service
  // `service_id` again after a controller restart (the output the store holds of this attempt
  // is not stored twice). `timeout` counts from the service's creation. When it has ended, and
  // unless detached, calls `notify` with the run's request. Call once.
  void start(docker::SwarmServiceSpec spec, std::string service_id,
             std::optional<std::chrono::seconds> timeout,
             std::function<void(const Request&)> notify);

  // Scales the service to 0: its task stops.
  void cancel() override;
  void detach() override;
  void join() override;
  bool done() override;
  AttemptOutcome outcome() override;
  int number() const override { return number_; }
  const std::string& uid() const override { return uid_; }

 private:
  AttemptOutcome run(const docker::SwarmServiceSpec& spec, std::string id,
                     std::optional<std::chrono::seconds> timeout, std::stop_token stop);
  // Waits until the service's task has ended (returned), the service is gone (NotFound) or
  // following stops (nullopt, Ok).
  Result<std::optional<docker::SwarmTask>> wait_for_end(const std::string& id,
                                                        std::stop_token stop);
  // The outcome from the task that ended, the stored output and how following went.
  AttemptOutcome task_outcome(const docker::SwarmTask& task, const Status& stored,
                              RunOutput& output);
  void kill();

  const std::string uid_;
  const Request request_;
  const int number_;
  docker::DockerClient& docker_;
  LogHub& logs_;
  const Clock& clock_;
  const SwarmRunAttemptOptions options_;

  std::atomic<bool> timed_out_{false};
  std::atomic<bool> detached_{false};
  std::mutex mu_;
  std::string service_id_;  // guarded by mu_
  bool cancelled_ = false;  // guarded by mu_
  bool done_ = false;       // guarded by mu_
  AttemptOutcome outcome_;  // guarded by mu_
  std::jthread thread_;
};

}  // namespace cenv
