#pragma once
// CommandRunReconciler (DESIGN sections 2, 4 and 6): runs a CommandRun's command to
// completion, like a Kubernetes Job with one pod at a time.
//
//  * Where: a new container of spec.image, else of the Environment's runtime image
//    (status.image, else spec.baseImage; the run stays Pending until one is known), or with
//    `docker exec` inside the running container of spec.service.
//  * Environment: the Environment's spec.variables, then spec.env (wins), then spec.secretEnv
//    (values from the Environment's spec.secrets); spec.workingDir.
//  * Each attempt runs on a thread of its own (reconcile() never blocks on a run): it starts
//    the container (container "cenv-<ns>-<name>.<attempt>", labels io.cenv.* with the run's
//    uid and io.cenv.attempt), attached before the start (raw bytes, stdout and stderr apart,
//    an unfinished line at once; stdin too with spec.stdin), stores its output through
//    RunOutput, waits for the exit code and enqueues the run again. Should the attach fail or
//    break, `docker logs -f` follows the rest. status: phase Pending → Running →
//    Succeeded / Failed / Cancelled, attempts, exitCode, startTime, completionTime, logBytes
//    (refreshed every log_bytes_interval while running), conditions Complete, Failed, Ready.
//  * Runtime swarm (the Environment's spec.runtime): an attempt in a new workload is a one-shot
//    swarm service instead of a container (swarm_run_attempt.h): restart condition none, one
//    task, its output followed through the service's logs into the same store, its exit code
//    the task's; timeout and cancel stop the task. spec.stdin is not passed to it. spec.service
//    execs in a running task's container on this node.
//  * timeoutSeconds kills an attempt (a failure, reason DeadlineExceeded); a failed attempt
//    is retried until backoffLimit retries are spent, after a back-off delay as Kubernetes
//    Jobs do it: backoff_base, doubling with each failure, at most backoff_max. Meanwhile the
//    run is Pending with status.nextAttemptTime and Ready reason BackOff ("attempt 2 starts
//    in 10s"); the wait is a requeue, not a sleeping worker, and survives a restart.
//  * Exec (spec.service): Docker cannot kill an exec'd process, so the command runs through a
//    wrapper that records its pid when the container has /bin/sh (exec_process.h); timeout
//    and cancel send SIGTERM to its process group, SIGKILL exec_kill_grace later, and the
//    attempt ends with the process's real exit code (143, 137). Without /bin/sh the host pid
//    is signalled when the daemon is local; when nothing can signal it, the attempt stops
//    following it and says the process may still run. The exec is created before the attempt
//    is recorded Running, its id in status.exec.
//  * Finalizer cenv.io/cleanup: deleting a running CommandRun kills it, marks it Cancelled,
//    removes its containers and swarm services, then lets the object (and its log) go.
//  * ttlSecondsAfterFinished deletes the run that long after completionTime.
//  * Restart: a run whose status says Running is re-attached to its container (found by
//    label), and its output is replayed from Docker's logs past what the store already holds
//    for that attempt, so nothing is lost or stored twice (byte counts match for text; the
//    json-file log does not keep invalid UTF-8 as written). An exec is re-attached by its id
//    (status.exec.id) as far as Docker allows: an exec still running is watched to its exit
//    code (exec inspect), with timeout and cancel as before, but Docker keeps no output of an
//    exec and cannot attach to a running one again, so what it prints after the restart is
//    lost (the status messages say so); one created but never started is started; one that
//    ended meanwhile is recorded with its exit code; one Docker no longer knows (its container
//    stopped, or it ended long ago) counts as failed (reason Lost).
//
// The parts: commandrun_target.h resolves where and how an attempt runs, run_attempt.h is the
// seam an attempt runs behind (commandrun_attempt.h: a container or an exec;
// swarm_run_attempt.h: a swarm service), commandrun_adoption.h decides what follows a restart, and
// commandrun_status.h is the state machine (phases, conditions, back-off, ttl) this
// reconciler drives.
//
// Thread-safe; stop() (or the destructor) detaches from running attempts without killing
// them, so the next controller re-attaches.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/clock.h"
#include "api/environment_secrets.h"
#include "controller/runtime/client.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "controller/store/log_hub.h"
#include "reconcilers/commandrun_adoption.h"
#include "reconcilers/commandrun_attempt.h"
#include "reconcilers/commandrun_status.h"
#include "reconcilers/commandrun_target.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/run_attempt.h"
#include "reconcilers/run_output.h"
#include "reconcilers/swarm_run_attempt.h"

namespace cenv {

struct CommandRunReconcilerOptions {
  // Names and labels of the containers. Default: the default instance.
  DockerNames names{};
  // Opens the Environment secrets that secretEnv hands to containers; nullptr (default): a
  // run with a secretEnv fails. Must outlive the reconciler.
  const SecretOpener* secrets = nullptr;
  // How often a run waiting for its image, Service or Module looks again. Default 2 s.
  std::chrono::milliseconds wait_interval{2000};
  // How often status.logBytes of a running run is brought up to date. Default 1 s.
  std::chrono::milliseconds log_bytes_interval{1000};
  // Output buffering (run_output.h for the defaults).
  RunOutputOptions output;
  // Delay before the first retry of a failed attempt; it doubles with each further failure.
  // Default 10 s (as Kubernetes Jobs).
  std::chrono::milliseconds backoff_base{10'000};
  // Longest delay between attempts. Default 6 min (as Kubernetes Jobs).
  std::chrono::milliseconds backoff_max{360'000};
  // How long an exec'd process has between SIGTERM and SIGKILL on timeout or cancel, and again
  // to end after SIGKILL before the attempt stops following it. Default 10 s.
  std::chrono::milliseconds exec_kill_grace{10'000};
  // How often a re-attached exec (no output stream to follow) is inspected for its end.
  // Default 500 ms.
  std::chrono::milliseconds exec_poll_interval{500};
  // How often the task of an attempt's swarm service is looked at for its end. Default 500 ms.
  std::chrono::milliseconds swarm_poll_interval{500};
};

// The delay before the attempt that follows `failed_attempts` failed ones (>= 1):
// options.backoff_base * 2^(failed_attempts - 1), at most options.backoff_max.
std::chrono::milliseconds retry_delay(const CommandRunReconcilerOptions& options,
                                      int failed_attempts);

class CommandRunReconciler final : public Reconciler {
 public:
  // Writes go through `client`, output through `logs`. Every reference must outlive the
  // reconciler.
  CommandRunReconciler(Client& client, DockerConnection& docker, LogHub& logs, const Clock& clock,
                       CommandRunReconcilerOptions options = {});
  ~CommandRunReconciler() override;  // stop()

  ReconcileResult reconcile(const Request& req) override;

  // Called (on an attempt's thread) with the run's request when an attempt ends; the
  // controller's enqueue. Set before the first reconcile.
  void set_notify(std::function<void(const Request&)> notify);
  // Detaches from every running attempt (their containers keep running) and joins their
  // threads. Idempotent.
  void stop();
  // A Runnable for the Manager that calls stop() when the manager stops, so no attempt
  // outlives the controllers it notifies. The reconciler must outlive it.
  std::unique_ptr<Runnable> stopper();

 private:
  ReconcileResult finalize(Object run);
  // A finished run: its containers and stdin pipe go; deleted ttlSecondsAfterFinished after
  // completion.
  ReconcileResult finished(const Object& run);
  // An attempt ended: records it (or, detached, looks again later).
  ReconcileResult conclude(Object run, const std::shared_ptr<RunAttempt>& attempt);
  // Writes the outcome of attempt `number`: Succeeded, Failed or Cancelled, or the next
  // attempt when retries are left.
  ReconcileResult record(Object run, int number, const AttemptOutcome& o);
  ReconcileResult start_attempt(Object run, int number, docker::DockerClient& docker);
  // Pending with `message`, looked at again after wait_interval.
  ReconcileResult wait(Object run, std::string_view message);
  // The exec of attempt `number` in the Service's container, created (not started) and
  // recorded in `status`; the result when the attempt ended (or waits) instead.
  std::optional<ReconcileResult> create_exec(Object& run, int number, CommandRunTarget& target,
                                             docker::DockerClient& docker);
  // The container of attempt `number` of a run in a new container.
  docker::ContainerSpec attempt_container(const Object& run, int number,
                                          const CommandRunTarget& target,
                                          docker::DockerClient& docker);
  // A Running run without an attempt in memory (a restart): commandrun_adoption.h.
  ReconcileResult adopt(Object run, docker::DockerClient& docker);
  // Registers `attempt` and starts it (`start`, given the notify callback) unless stopped.
  ReconcileResult launch(const std::shared_ptr<RunAttempt>& attempt,
                         const std::function<void(std::function<void(const Request&)>)>& start);
  // A container (spec; or container_id again) or exec attempt of `run` on its thread.
  ReconcileResult launch_container(const Object& run, int number, docker::DockerClient& docker,
                                   docker::ContainerSpec spec, std::string container_id,
                                   const CommandRunTarget& target);
  // A swarm service attempt of `run`: a new service from `target` (service_id empty), or the
  // service `service_id` again.
  ReconcileResult launch_service(const Object& run, int number, docker::DockerClient& docker,
                                 const CommandRunTarget& target, std::string service_id);
  // Whether /bin/sh runs in the container (cached by container id).
  Result<bool> has_shell(docker::DockerClient& docker, const std::string& container);
  // Removes the run's containers and swarm services.
  Status remove_workloads(const std::string& uid, docker::DockerClient& docker);
  Result<Object> write_status(Object run);
  std::shared_ptr<RunAttempt> find(const std::string& uid);

  Client& client_;
  DockerConnection& docker_;
  LogHub& logs_;
  const Clock& clock_;
  const CommandRunReconcilerOptions options_;

  std::mutex mu_;
  std::function<void(const Request&)> notify_;  // guarded by mu_
  // The attempts followed, by run uid; guarded by mu_.
  std::map<std::string, std::shared_ptr<RunAttempt>> attempts_;
  bool stopped_ = false;                // guarded by mu_
  std::map<std::string, bool> shells_;  // guarded by mu_; has_shell() by container id
};

}  // namespace cenv
