#pragma once
// ModuleReconciler (DESIGN section 2, issue 11 points 1, 2 and 6): reads each Module through
// the ModuleFetcher and publishes what it found, and keeps the Services the module declares.
//  * Status: revision (commit or content digest), version, requires {apt, pip, modules} as
//    the manifest says, commands (name -> {command, args, description}, which CommandRuns
//    with spec.module run), observedGeneration, and the conditions
//      Fetched          True, or False with SourceNotFound / SourceUnavailable /
//                       InvalidSource / InvalidManifest / FetchFailed;
//      Resolved         the namespace's Modules resolve into an install order (the one the
//                       Environment builds, by the same resolve_environment_modules), or
//                       False, Unresolved, with the resolver's error naming the chain;
//      ServicesApplied  the module's Services exist as declared, or False with
//                       ServiceNameConflict / ServiceApplyFailed;
//      Ready            Fetched, spec.options valid for the manifest's options (else
//                       InvalidOption, naming spec.options.<name>), Resolved and
//                       ServicesApplied;
//      Stalled          True only while an invalid source, manifest or option keeps it from
//                       Ready until the Module changes.
//    Another Module of the namespace appearing, changing its spec or going away reconciles
//    the others (their Resolved depends on it). A failed fetch keeps the last revision,
//    requires and commands published (and the Services), so what ran keeps running.
//  * Services: each services.<name> of the manifest is applied as Service <name> of the
//    Module's namespace, labelled cenv.io/module=<module> and controlled by the Module
//    (ownerReference controller, blockOwnerDeletion), so deleting the Module deletes them (the
//    garbage collector). A Service the manifest no longer declares is deleted. A Service of
//    that name not controlled by this Module is never touched: ServicesApplied=False says so.
//  * Retries: an unreachable source (NotFound, Unavailable) is retried with the queue's
//    back-off; an invalid source, manifest or option waits for the next change of the Module
//    (or of its Environment's build request), never in a loop.
// Thread-safe: different Modules are reconciled in parallel.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/clock.h"
#include "controller/runtime/client.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/event_recorder.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"
#include "reconcilers/module_fetcher.h"

namespace cenv {

// Label of every Service a Module created: the Module's name.
inline constexpr std::string_view kModuleLabel = "cenv.io/module";

struct ModuleReconcilerOptions {
  // Where Events (Fetched, FetchFailed, ServiceNameConflict) are recorded; nullptr (default):
  // none. Must outlive the reconciler.
  EventRecorder* events = nullptr;
};

class ModuleReconciler final : public Reconciler {
 public:
  // Reads Modules and the Services they own from their informers; reads a declared Service
  // before applying it, writes Services and Module status through `client`; fetches through
  // `fetcher` (shared with the Environment reconciler). Every reference must outlive the
  // reconciler.
  ModuleReconciler(Informer& modules, Informer& services, Client& client, ModuleFetcher& fetcher,
                   const Clock& clock, ModuleReconcilerOptions options = {});

  ReconcileResult reconcile(const Request& req) override;

  // For Controller::watches on Environments: a new build request (annotation
  // cenv.io/build-requested-at) of an Environment maps to every Module in it, so git sources
  // are read again and their status follows. Other Environment changes map to nothing.
  static MapFunc modules_on_build_request(Informer& modules);
  // For Controller::watches on Services: a Service maps to the Module controlling it, and to
  // the Modules of its namespace waiting for a Service name (ServicesApplied False).
  static MapFunc modules_of_service(Informer& modules);
  // Maps a Module that appeared, changed its spec or went away to the other Modules of its
  // namespace, whose Resolved condition depends on it.
  static MapFunc modules_beside(Informer& modules);

 private:
  // What applying the module's Services came to.
  struct ServicesOutcome {
    std::vector<std::string> conflicts;    // names held by Services the Module does not control
    std::vector<std::string> applied;      // names applied (or unchanged)
    std::vector<std::string> terminating;  // ours, being deleted: created again once gone
    Status error;                          // the first failure to apply or delete
  };

  // Applies the manifest's Services, deletes those it no longer declares.
  ServicesOutcome sync_services(const Object& module, const FetchedModule& fetched);
  // Resolved: whether the Modules of `module`'s namespace (this one as cached in `module`)
  // resolve into an install order, with that order or the resolver's error.
  void set_resolved_condition(const Object& module, Object& next);
  // Reports a failed fetch in `next` (Fetched and Ready False), writes it and says when to
  // try again.
  ReconcileResult fetch_failed(const Object& module, Object& next, const Status& s);
  // Sets ServicesApplied in `next` from `services` (an Event on a new name conflict).
  void set_services_condition(const Object& module, Object& next, const ServicesOutcome& services);
  // Writes `next`'s status unless it equals `module`'s; Ok when the Module is gone.
  Status write_status(const Object& module, const Object& next);
  // Records an Event about `module` when an EventRecorder was given.
  void event(const Object& module, EventSeverity type, std::string_view reason,
             std::string_view message);

  Informer& modules_;
  Informer& services_;
  Client& client_;
  ModuleFetcher& fetcher_;
  const Clock& clock_;
  const ModuleReconcilerOptions options_;
};

// The status fields a fetched Module publishes (revision, version, requires, commands),
// written into `status`. Exposed for tests.
void set_fetched_status(boost::json::object& status, const FetchedModule& fetched);

}  // namespace cenv
