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
//  * timeoutSeconds kills an attempt (a failure, reason DeadlineExceeded); a failed attempt
//    is retried until backoffLimit retries are spent.
//  * Finalizer cenv.io/cleanup: deleting a running CommandRun kills it, marks it Cancelled,
//    removes its containers, then lets the object (and its log) go.
//  * ttlSecondsAfterFinished deletes the run that long after completionTime.
//  * Restart: a run whose status says Running is re-attached to its container (found by
//    label), and its output is replayed from Docker's logs past what the store already holds
//    for that attempt, so nothing is lost or stored twice (byte counts match for text; the
//    json-file log does not keep invalid UTF-8 as written). An exec cannot be re-attached (Docker
//    keeps no output of it): that attempt counts as failed (reason Lost).
//
// Thread-safe; stop() (or the destructor) detaches from running attempts without killing
// them, so the next controller re-attaches.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/clock.h"
#include "controller/runtime/client.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "controller/server/logs_service.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/run_output.h"

namespace cenv {

// The label carrying the attempt number on a CommandRun's containers.
inline constexpr std::string_view kLabelAttempt = "io.cenv.attempt";

struct CommandRunReconcilerOptions {
  // Names and labels of the containers. Default: the default instance.
  DockerNames names{};
  // How often a run waiting for its image, Service or Module looks again. Default 2 s.
  std::chrono::milliseconds wait_interval{2000};
  // How often status.logBytes of a running run is brought up to date. Default 1 s.
  std::chrono::milliseconds log_bytes_interval{1000};
  // Output buffering (run_output.h for the defaults).
  RunOutputOptions output;
};

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
  class Attempt;
  struct AttemptOutcome;
  struct Target;

  ReconcileResult finalize(Object run);
  ReconcileResult finished(const Object& run);
  ReconcileResult conclude(Object run, const std::shared_ptr<Attempt>& attempt);
  // Writes the outcome of attempt `number`: Succeeded, Failed or Cancelled, or the next
  // attempt when retries are left.
  ReconcileResult record(Object run, int number, const AttemptOutcome& o,
                         docker::DockerClient& docker);
  ReconcileResult start_attempt(Object run, int number, docker::DockerClient& docker);
  ReconcileResult adopt(Object run, docker::DockerClient& docker);
  // Resolves where the run goes; nullopt with a reason when it must wait or fail.
  Result<Target> resolve(const Object& run, docker::DockerClient& docker);
  Status remove_containers(const std::string& uid, docker::DockerClient& docker);
  Result<Object> write_status(Object run);
  std::shared_ptr<Attempt> find(const std::string& uid);

  Client& client_;
  DockerConnection& docker_;
  LogHub& logs_;
  const Clock& clock_;
  const CommandRunReconcilerOptions options_;

  std::mutex mu_;
  std::function<void(const Request&)> notify_;                // guarded by mu_
  std::map<std::string, std::shared_ptr<Attempt>> attempts_;  // guarded by mu_; by run uid
  bool stopped_ = false;                                      // guarded by mu_
};

}  // namespace cenv
