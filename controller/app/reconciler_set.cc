#include "controller/app/reconciler_set.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "api/json_fields.h"
#include "controller/runtime/garbage_collector.h"
#include "reconcilers/commandrun.h"
#include "reconcilers/environment_reconciler.h"
#include "reconcilers/module_reconciler.h"
#include "reconcilers/service_reconciler.h"
#include "reconcilers/source_reconciler.h"

namespace cenv {

namespace {

// The Workloads' options: options.workloads under the set's names.
WorkloadsOptions workloads_options(const ReconcilerSetOptions& options) {
  WorkloadsOptions o = options.workloads;
  o.names = options.names;
  return o;
}

}  // namespace

Result<ReconcilerSetOptions> ReconcilerSetOptions::from_environment() {
  ReconcilerSetOptions options;
  auto names = DockerNames::from_environment();
  if (!names.ok()) return names.status();
  options.names = std::move(names).value();
  return options;
}

ReconcilerSet::ReconcilerSet(ApiService& api, WatchHub& hub, DockerConnection& docker,
                             const Clock& clock, ReconcilerSetOptions options)
    : options_(std::move(options)),
      docker_(docker),
      clock_(clock),
      source_(api, hub),
      client_(api),
      own_events_(options_.events ? nullptr : std::make_unique<EventRecorder>(client_, clock)),
      events_(options_.events ? *options_.events : *own_events_),
      workloads_(docker, workloads_options(options_)),
      swarm_workloads_(docker, workloads_options(options_)),
      manager_(std::make_unique<Manager>(source_, steady_, options_.manager)) {
  // Module sources: read once through the store's archives or Git, shared by the Module and
  // Environment controllers; a build request is read from the Environment informer's cache.
  if (!options_.git_fetcher) {
    std::filesystem::path dir = options_.git_cache_dir;
    if (dir.empty()) {
      std::error_code ec;
      std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
      dir = (ec ? std::filesystem::path("/tmp") : tmp) / ("cenv-git-" + std::to_string(getuid()));
    }
    own_git_ = std::make_unique<modules::Libgit2Fetcher>(dir);
  }
  Informer& environments = manager_->cache().informer("Environment");
  module_sources_ = std::make_unique<ModuleSources>(
      client_, options_.git_fetcher ? *options_.git_fetcher : *own_git_,
      [&environments](std::string_view env) {
        ObjectPtr e = environments.get("", env);
        if (!e) return std::string();
        return std::string(string_field(object_field(e->metadata_or_null(), "annotations"),
                                        kBuildRequestedAtAnnotation));
      },
      options_.module_sources);
  std::vector<std::string> kinds;
  for (const KindInfo& k : api.kinds().kinds()) kinds.push_back(k.kind);
  GarbageCollectorOptions gc_options;
  gc_options.queue.metrics = options_.metrics;
  gc_options.queue.name = "garbage-collector";
  manager_->add(
      std::make_unique<GarbageCollector>(manager_->cache(), client_, kinds, steady_, gc_options));
  docker_events_ = &manager_->add(std::make_unique<DockerEventSource>(docker_, [this] {
    DockerEventSourceOptions o = options_.docker_events;
    o.names = options_.names;
    return o;
  }()));
  prober_ = &manager_->add(std::make_unique<HealthProber>(
      workloads_, options_.health,
      options_.tcp_dialer ? options_.tcp_dialer : HealthProber::TcpDialer(HealthProber::dial_tcp)));
  add_controllers();
}

void ReconcilerSet::add_controllers() {
  InformerCache& cache = manager_->cache();
  Informer& environments = cache.informer("Environment");
  Informer& services = cache.informer("Service");

  // Environment: network, base image, runtime image (built from the namespace's Modules, so
  // a Module's change wakes the Environment named by its namespace).
  EnvironmentReconcilerOptions env_options;
  env_options.names = options_.names;
  env_options.recheck_interval = options_.environment_recheck;
  env_options.modules = options_.module_fetcher
                            ? options_.module_fetcher
                            : static_cast<ModuleFetcher*>(module_sources_.get());
  env_options.logs = options_.logs;
  env_options.builds = options_.image_builds;
  env_options.secrets = options_.secrets;
  auto& env_reconciler = own(std::make_unique<EnvironmentReconciler>(
      environments, cache.informer("Module"), client_, docker_, clock_, env_options));
  Controller& env = add_controller("Environment", env_reconciler, options_.environment_workers);
  env.watches("Module", [](const Object& module) {
    return std::vector<Request>{{"Environment", "", std::string(module.ns())}};
  });
  env_reconciler.set_notify([&env](const Request& req) { env.enqueue(req); });
  manager_->add(env_reconciler.stopper());

  // Service: one container each, through the Workloads seam; health from the prober.
  ServiceReconcilerOptions svc_options;
  svc_options.events = &events_;
  svc_options.names = options_.names;
  svc_options.secrets = options_.secrets;
  svc_options.swarm = &swarm_workloads_;
  auto& svc_reconciler = own(std::make_unique<ServiceReconciler>(
      services, environments, client_, workloads_, *prober_, clock_, svc_options));
  Controller& svc = add_controller("Service", svc_reconciler, options_.service_workers);
  svc.watches("Environment", ServiceReconciler::services_in_environment(services));
  svc.watches("Service", ServiceReconciler::dependents(services));
  prober_->set_on_change([&svc](const Request& req) { svc.enqueue(req); });

  // Module: fetched (shared ModuleSources), status published, its Services applied and owned.
  ModuleReconcilerOptions mod_options;
  mod_options.events = &events_;
  Informer& modules = cache.informer("Module");
  auto& mod_reconciler = own(std::make_unique<ModuleReconciler>(
      modules, services, client_, *module_sources_, clock_, mod_options));
  Controller& mod = add_controller("Module", mod_reconciler, options_.module_workers);
  mod.watches("Environment", ModuleReconciler::modules_on_build_request(modules));
  mod.watches("Service", ModuleReconciler::modules_of_service(modules));
  mod.watches("Module", ModuleReconciler::modules_beside(modules));

  // Environment sources (GitOps): a controller of its own on the Environment informer, woken
  // by the objects it applied while a sync waits for them.
  SourceReconcilerOptions src_options;
  src_options.events = &events_;
  src_options.secrets = options_.secrets;
  auto& src_reconciler = own(std::make_unique<SourceReconciler>(
      environments, client_, client_, options_.git_fetcher ? *options_.git_fetcher : *own_git_,
      clock_, steady_, src_options));
  ControllerOptions src_controller;
  src_controller.workers = options_.source_workers;
  src_controller.queue = options_.queue;
  src_controller.metrics = options_.metrics;
  Controller& src = manager_->add(std::make_unique<Controller>(
      "environment-source", "Environment", src_reconciler, cache, steady_, src_controller));
  for (const char* kind : {"Module", "Service", "CommandRun"}) {
    src.watches(kind, SourceReconciler::environment_of_member());
  }

  // CommandRun: each attempt on a thread of its own, its output into the store through the
  // LogHub; the stopper detaches the attempts before the controllers go.
  if (options_.logs) {
    CommandRunReconcilerOptions cr_options;
    cr_options.names = options_.names;
    cr_options.secrets = options_.secrets;
    auto& cr_reconciler = own(std::make_unique<CommandRunReconciler>(
        client_, docker_, *options_.logs, clock_, std::move(cr_options)));
    Controller& cr = add_controller("CommandRun", cr_reconciler, options_.commandrun_workers);
    cr_reconciler.set_notify([&cr](const Request& req) { cr.enqueue(req); });
    manager_->add(cr_reconciler.stopper());
  }
}

Controller& ReconcilerSet::add_controller(const std::string& kind, Reconciler& reconciler,
                                          int workers) {
  ControllerOptions options;
  options.workers = workers;
  options.queue = options_.queue;
  options.metrics = options_.metrics;
  Controller& c = manager_->add(std::make_unique<Controller>(lower_kind(kind), kind, reconciler,
                                                             manager_->cache(), steady_, options));
  controllers_[kind] = &c;
  Informer& informer = manager_->cache().informer(kind);
  docker_events_->route(
      kind, [&c](const Request& req) { c.enqueue(req); },
      [&c, &informer] {
        for (const ObjectPtr& o : informer.list()) c.enqueue(Request::from(*o));
      });
  return c;
}

Result<std::unique_ptr<ReconcilerSet>> ReconcilerSet::start(ApiService& api, WatchHub& hub,
                                                            DockerConnection& docker,
                                                            const Clock& clock,
                                                            ReconcilerSetOptions options) {
  std::unique_ptr<ReconcilerSet> set(
      new ReconcilerSet(api, hub, docker, clock, std::move(options)));
  if (Status s = set->manager_->start(); !s.ok()) {
    set->stop();
    return s;
  }
  return set;
}

ReconcilerSet::~ReconcilerSet() { stop(); }

void ReconcilerSet::stop() { manager_->stop(); }

Controller* ReconcilerSet::controller(std::string_view kind) {
  auto it = controllers_.find(kind);
  return it == controllers_.end() ? nullptr : it->second;
}

}  // namespace cenv
