#pragma once
// ServiceReconciler (DESIGN sections 2, 5 and 6): keeps one workload (container) per Service
// equal to its spec, through the Workloads seam.
//  * Runtime: the Environment's spec.runtime picks the Workloads: docker (the reconciler's
//    own, plain containers) or swarm (ServiceReconcilerOptions::swarm, a swarm service of
//    spec.replicas tasks that the swarm restarts; a change of replicas scales it, Ready =
//    every replica running; status.replicas, readyReplicas and nodes say how many run where).
//    With runtime docker a spec.replicas other than 1 is Ready=False, reason
//    ReplicasUnsupported, and nothing is created or changed. An engine that is not a swarm
//    manager shows as reason SwarmNotInitialised, naming `docker swarm init`. When the
//    Environment switches runtimes, the Service's workload on the old one is removed (Event
//    RuntimeSwitched) and one made on the new one once its network is ready.
//  * Image: spec.image, else the Environment's status.image (it waits while that is empty).
//  * Identity: the workload carries the Service's uid and spec hash; one whose hash differs is
//    replaced, duplicates are removed, and after a controller restart the existing workload
//    is adopted (found by label). A container without the Service's uid (unlabelled, or of
//    another object or another controller sharing dockerd) is never touched: holding the
//    name, it shows as Ready=False, reason NameConflict.
//  * dependsOn: a Service is first started only once every dependency is Ready; a cycle is
//    reported as the condition Ready=False, reason DependencyCycle. A running Service whose
//    spec or image changed is replaced only once its dependencies run their new spec and
//    image and are Ready (status.image), so an image switch rolls in dependsOn order.
//  * restartPolicy (decided by cenv, not Docker): an exited workload is started again
//    (Always; OnFailure when it failed) and status.restarts counts it; a workload that keeps
//    exiting within kCrashWindow of its start is restarted with exponential back-off.
//  * Health: spec.healthCheck results from the HealthProber set the Healthy condition;
//    Ready = running and healthy (running, without a health check).
//  * Delete: the finalizer cenv.io/cleanup removes the workload; named volumes are kept unless
//    the Service carries the annotation cenv.io/purge-volumes: "true".
//  * Network: a container is created or started only once the Environment's NetworkReady
//    condition is True; until then the Service is Pending, reason WaitingForNetwork, without
//    a Warning Event (the message says since when once that takes network_wait_reported_after).
//  * Failures (missing image, port taken, bad command, Docker down) become Ready=False with a
//    reason and Docker's message, and the key is retried with back-off.
// Thread-safe: different keys are reconciled in parallel.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/annotations.h"
#include "api/clock.h"
#include "api/environment_secrets.h"
#include "controller/runtime/client.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/event_recorder.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/health_prober.h"
#include "reconcilers/workloads.h"

namespace cenv {

struct ServiceReconcilerOptions {
  // A workload that exits sooner than this after starting counts as crashing. Default 10 s.
  std::chrono::milliseconds crash_window{10'000};
  // Back-off before restarting a crashing workload: 0 after its first crash, then
  // crash_backoff doubling up to max_crash_backoff. Defaults 1 s and 5 min.
  std::chrono::milliseconds crash_backoff{1'000};
  std::chrono::milliseconds max_crash_backoff{300'000};
  // Where Events (Created, Replaced, Restarted, Unhealthy, failures) are recorded; nullptr
  // (default): none. Must outlive the reconciler.
  EventRecorder* events = nullptr;
  // Names of containers, networks and volumes (for the network, messages and --purge); the
  // same as the Workloads'. Default: the default instance.
  DockerNames names{};
  // Opens the Environment secrets that secretEnv hands to containers, and the registry
  // credentials an image on the Environment's spec.registry is pulled with; nullptr (default): a
  // Service with a secretEnv, or whose image needs those credentials, is not Ready. Must outlive
  // the reconciler.
  const SecretOpener* secrets = nullptr;
  // While the Environment's network is not ready, how often a Service waiting for it looks
  // again (besides when the Environment changes). Default 5 s.
  std::chrono::milliseconds network_recheck{5'000};
  // A Service waiting longer than this for its Environment's network says so in its
  // message. Default 30 s.
  std::chrono::milliseconds network_wait_reported_after{30'000};
  // Runs the Services of Environments whose spec.runtime is swarm; nullptr (default): those
  // Services are Ready=False, reason RuntimeUnavailable. Must outlive the reconciler.
  Workloads* swarm = nullptr;
  // While a swarm Service's replicas are not all running, how often it looks again. Default 1 s.
  std::chrono::milliseconds replicas_recheck{1'000};
  // How often a Ready swarm Service looks at its tasks again (tasks on other nodes send this
  // engine no events). Default 10 s.
  std::chrono::milliseconds swarm_recheck{10'000};
};

class ServiceReconciler final : public Reconciler {
 public:
  // Reads Services and Environments from their informers, writes through `client`. Every
  // reference must outlive the reconciler.
  ServiceReconciler(Informer& services, Informer& environments, Client& client,
                    Workloads& workloads, HealthProber& prober, const Clock& clock,
                    ServiceReconcilerOptions options = {});

  ReconcileResult reconcile(const Request& req) override;

  // For Controller::watches: an Environment maps to every Service in it.
  static MapFunc services_in_environment(Informer& services);
  // For Controller::watches: a Service maps to the Services of its namespace that depend on it.
  static MapFunc dependents(Informer& services);

 private:
  struct Outcome;
  struct Observation;
  struct CrashState {
    std::string finished_at;  // of the last exit counted
    int crashes = 0;
    std::chrono::steady_clock::time_point not_before{};
  };

  ReconcileResult finalize(const Object& svc);
  // The steps of reconcile(); each returns the result when it ended the reconcile (having
  // written the status), nullopt to go on. observe: reads the spec, the Environment and the
  // Service's workloads; converge: removes duplicates and a stale workload, then creates or
  // restarts one (through create and restart); report: the workload's state and health.
  std::optional<ReconcileResult> observe(const Request& req, const Object& svc, Observation& seen,
                                         Outcome& out);
  std::optional<ReconcileResult> converge(const Request& req, const Object& svc, Observation& seen,
                                          Outcome& out);
  std::optional<ReconcileResult> create(const Request& req, const Object& svc, Observation& seen,
                                        Outcome& out, bool replaced);
  std::optional<ReconcileResult> restart(const Request& req, const Object& svc, Observation& seen,
                                         Outcome& out);
  ReconcileResult report(const Request& req, const Object& svc, Observation& seen, Outcome& out);
  // report() of a replicated (swarm) workload: Ready once every replica runs.
  ReconcileResult report_replicas(const Request& req, const Object& svc, Observation& seen,
                                  Outcome& out);
  // Pending with `reason` and `message`, written; no Event.
  ReconcileResult wait(const Object& svc, Outcome& out, std::string reason, std::string message);
  // `phase` with the reason for `s`, a Warning Event, written; the result fails with `s`.
  ReconcileResult fail(const Object& svc, Outcome& out, const Status& s,
                       std::string phase = "Failed");
  // Writes `outcome` into the status of `svc` (unless unchanged) and returns its result.
  ReconcileResult write_status(const Object& svc, Outcome& outcome);
  void apply_outcome(Object& next, const Outcome& outcome) const;
  // The dependencies in `deps` that have not rolled yet: not Ready on their current generation,
  // or (without an image of their own) not running `env_image`; "" when all have.
  std::string unrolled_dependencies(const Object& svc, const std::vector<std::string>& deps,
                                    std::string_view env_image);
  // A dependsOn cycle through `svc`, as "a -> b -> a", or "".
  std::string dependency_cycle(const Object& svc);
  // Why `svc` may not start yet ("" when every dependency is Ready).
  std::string unready_dependencies(const Object& svc, const std::vector<std::string>& deps);
  // Records an Event about `svc` when an EventRecorder was given.
  void event(const Object& svc, EventSeverity type, std::string_view reason,
             std::string_view message);
  // Back-off left before restarting `workload` of `key`; counts the exit once.
  std::chrono::milliseconds crash_backoff(const Request& key, const Workload& workload);

  Informer& services_;
  Informer& environments_;
  Client& client_;
  Workloads& workloads_;
  HealthProber& prober_;
  const Clock& clock_;
  const ServiceReconcilerOptions options_;
  std::mutex mu_;
  std::map<Request, CrashState> crashes_;  // guarded by mu_
};

}  // namespace cenv
