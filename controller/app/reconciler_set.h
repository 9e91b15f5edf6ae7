#pragma once
// ReconcilerSet: every controller of `cenv controller run`, assembled in one place (DESIGN
// sections 5 and 8): a Manager on the in-process API (ApiEventSource + ApiServiceClient), the
// GarbageCollector, the Environment, Service, Module (and CommandRun) controllers, the
// HealthProber and Docker's event stream, and the Environments' Git sources
// (SourceReconciler). Docker is reached lazily through a DockerConnection, so the set starts
// (and the API serves) while dockerd is down; reconcilers then report DockerUnavailable and
// retry.
// Modules are read through one ModuleSources (module_fetcher()), shared by the Module and
// Environment reconcilers so that each source is read once.
//
// Adding a kind's controller is one block in reconciler_set.cc's add_controllers(): own its
// reconciler, add its controller, route its Docker events.

#include <filesystem>
#include <memory>

#include "api/clock.h"
#include "api/environment_secrets.h"
#include "api/status.h"
#include "controller/app/api_event_source.h"
#include "controller/app/in_process_client.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/event_recorder.h"
#include "controller/runtime/manager.h"
#include "controller/runtime/steady_clock.h"
#include "controller/server/api_service.h"
#include "controller/server/logs_service.h"
#include "controller/server/watch_hub.h"
#include "reconcilers/container_workloads.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_event_source.h"
#include "reconcilers/health_prober.h"
#include "reconcilers/module_fetcher.h"
#include "reconcilers/module_sources.h"
#include "reconcilers/runtime_image_builder.h"
#include "reconcilers/swarm_workloads.h"

namespace cenv {

struct ReconcilerSetOptions {
  // Workers of each controller. Defaults: 2 Environment, 8 Service (containers start in
  // parallel).
  int environment_workers = 2;
  int service_workers = 8;
  // How often a Ready Environment checks its network and image again. Default 30 s.
  std::chrono::milliseconds environment_recheck{30'000};
  // Informer, sync and queue options (manager.h, controller.h for their defaults).
  ManagerOptions manager;
  WorkQueueOptions queue;
  HealthProberOptions health;
  // How tcpPort health checks connect; empty (default): a real TCP connect.
  HealthProber::TcpDialer tcp_dialer;
  DockerEventSourceOptions docker_events;
  WorkloadsOptions workloads;
  // Names and labels of everything the controllers create in Docker: their instance, and
  // labels added to all of it (tests label theirs with their run id). Overrides
  // workloads.names. Default: the default instance, no extra labels.
  DockerNames names;
  // Opens the Environment secrets that Services' and CommandRuns' secretEnv hand to their
  // containers (the only place plaintext goes); nullptr (default): those fail. Must outlive
  // the set.
  const SecretOpener* secrets = nullptr;
  // Where the controllers record Events (the controller process shares the API's recorder:
  // one sweeper); nullptr (default): the set makes its own. Must outlive the set.
  EventRecorder* events = nullptr;
  // Where CommandRun output goes (and Logs reads it); nullptr (default): no CommandRun
  // controller. Must outlive the set.
  LogHub* logs = nullptr;
  // Where the controllers and their queues count (controller.h, work_queue.h); nullptr
  // (default): nowhere. Must outlive the set.
  metrics::Registry* metrics = nullptr;
  // Workers of the CommandRun controller (each attempt runs on a thread of its own; workers
  // only start and conclude attempts). Default 4.
  int commandrun_workers = 4;
  // Workers of the Module controller (a Git fetch may take a while). Default 2.
  int module_workers = 2;
  // Workers of the Environment sources' controller (GitOps syncs). Default 2.
  int source_workers = 2;
  // Where git-sourced Modules are fetched into (bare mirrors; $CENV_HOME/cache/git for the
  // controller process). Empty (default): "cenv-git-<uid>" in the system's temp directory.
  std::filesystem::path git_cache_dir;
  // The Git fetcher of Modules and Environment sources; nullptr (default): a Libgit2Fetcher on
  // git_cache_dir. Tests substitute one. Must outlive the set.
  modules::GitFetcher* git_fetcher = nullptr;
  // Cache bounds of the Modules' sources (module_sources.h for the defaults).
  ModuleSourcesOptions module_sources;
  // Where the Environment controller gets Modules' files to build runtime images from;
  // nullptr (default): the set's own ModuleSources (the Module controller's). Must outlive
  // the set.
  ModuleFetcher* module_fetcher = nullptr;
  // Runtime image builds: parallel builds, progress throttling (runtime_image_builder.h).
  RuntimeImageBuilderOptions image_builds;

  // Defaults, with names from $CENV_INSTANCE and $CENV_CONTAINER_LABELS
  // (DockerNames::from_environment); Invalid for a bad $CENV_INSTANCE.
  static Result<ReconcilerSetOptions> from_environment();
};

class ReconcilerSet {
 public:
  // Builds every controller on `api` and `hub`, reaching Docker through `docker`, and starts
  // them; returns once the informers have synced. Unavailable when they do not sync within
  // options.manager.sync_timeout. Every reference must outlive the set.
  static Result<std::unique_ptr<ReconcilerSet>> start(ApiService& api, WatchHub& hub,
                                                      DockerConnection& docker, const Clock& clock,
                                                      ReconcilerSetOptions options = {});
  ~ReconcilerSet();  // stop()
  ReconcilerSet(const ReconcilerSet&) = delete;
  ReconcilerSet& operator=(const ReconcilerSet&) = delete;

  // Stops every controller and joins their threads. Idempotent.
  void stop();

  Manager& manager() { return *manager_; }
  Client& client() { return client_; }
  // How every controller reads a Module's files, manifest and revision (cached; thread-safe).
  ModuleFetcher& module_fetcher() { return *module_sources_; }
  // The controller of `kind` ("Service"), or nullptr.
  Controller* controller(std::string_view kind);

 private:
  ReconcilerSet(ApiService& api, WatchHub& hub, DockerConnection& docker, const Clock& clock,
                ReconcilerSetOptions options);
  void add_controllers();
  // Takes ownership of a reconciler for the set's life.
  template <typename R>
  R& own(std::unique_ptr<R> reconciler) {
    R& ref = *reconciler;
    reconcilers_.push_back(std::move(reconciler));
    return ref;
  }
  // Adds the controller of `kind` to the manager; its Docker events are routed to it.
  Controller& add_controller(const std::string& kind, Reconciler& reconciler, int workers);

  const ReconcilerSetOptions options_;
  DockerConnection& docker_;
  const Clock& clock_;
  MonotonicClock steady_;
  ApiEventSource source_;
  ApiServiceClient client_;
  std::unique_ptr<EventRecorder> own_events_;  // when options.events is nullptr
  EventRecorder& events_;
  ContainerWorkloads workloads_;
  SwarmWorkloads swarm_workloads_;                // Environments with spec.runtime swarm
  std::unique_ptr<modules::GitFetcher> own_git_;  // when options.git_fetcher is nullptr
  // Built before add_controllers(); outlives manager_ (whose controllers use it).
  std::unique_ptr<ModuleSources> module_sources_;
  std::vector<std::unique_ptr<Reconciler>> reconcilers_;
  std::map<std::string, Controller*, std::less<>> controllers_;
  DockerEventSource* docker_events_ = nullptr;  // owned by manager_
  HealthProber* prober_ = nullptr;              // owned by manager_
  // Last: stopped and destroyed before what its runnables use.
  std::unique_ptr<Manager> manager_;
};

}  // namespace cenv
