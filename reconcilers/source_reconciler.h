#pragma once
// SourceReconciler (GitOps): keeps the manifests of an Environment's Git source
// (spec.source: git.url, git.ref, path, interval, prune, suspend, secretRef) applied into the
// Environment's namespace, as Flux's Kustomization and Argo CD do. Each sync:
//  * observe: fetch the repository through the GitFetcher (a bare mirror per URL, cached
//    between syncs) when a sync is due: every spec.source.interval, at once after a change of
//    spec.source or the annotation cenv.io/sync-requested-at; read every manifest under path
//    (source_manifests.h) and dry-run them all;
//  * act, per revision, all or nothing: CommandRuns annotated cenv.io/hook: pre-sync run first
//    (a failed one stops the revision); then every object is applied in one transaction as
//    field manager cenv-gitops, taking back fields changed by hand, pruning (spec.source.prune)
//    what an earlier revision applied and this one lacks; once everything applied is Ready, the
//    post-sync hooks run. A CommandRun runs once per revision: it carries the revision
//    (cenv.io/source-revision), a run of an older revision is deleted before the new one is
//    created, and status.source.runs remembers what ran (so a run deleted after it finished is
//    not run again, across controller restarts);
//  * report: status.source (revision, lastAttemptedRevision, lastAppliedRevision,
//    lastSyncTime, lastHandledSyncRequest, inventory, runs) and the condition Synced: True once
//    the revision is applied and all of it is Ready, Unknown (Progressing) meanwhile, False with
//    the reason (SourceUnavailable, SourceNotFound: the ref or the path, InvalidSource: the URL
//    or a tree past the fetcher's limits, InvalidManifest, ApplyFailed, PreSyncHookFailed,
//    PostSyncHookFailed, RunFailed, Suspended, InvalidSpec); an Event for each sync, each
//    failure and each hand change put back (naming the fields).
// A revision that fails leaves the last applied one in force. Thread-safe (one worker per
// Environment at a time, as the controller guarantees).

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/clock.h"
#include "api/environment_secrets.h"
#include "controller/runtime/batch_applier.h"
#include "controller/runtime/client.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/event_recorder.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/steady_clock.h"
#include "modules/git_source.h"
#include "reconcilers/source_manifests.h"

namespace cenv {

struct SourceReconcilerOptions {
  // Where sync events go; nullptr (default): none are recorded. Must outlive the reconciler.
  EventRecorder* events = nullptr;
  // Opens the secret spec.source.secretRef names; nullptr (default): a source with a
  // secretRef fails saying so. Must outlive the reconciler.
  const SecretOpener* secrets = nullptr;
  // How soon a sync that waits (for hooks, for Readiness, for an old run to go) looks again
  // when nothing wakes it earlier. Default 2 s.
  std::chrono::milliseconds progress_poll{2'000};
  // Bounds of each manifest (api/limits.h defaults).
  ParseLimits limits;
};

class SourceReconciler final : public Reconciler {
 public:
  // Reads Environments from `environments` (the informer), writes through `client` and
  // `applier`, fetches with `git`. Every reference must outlive the reconciler.
  SourceReconciler(Informer& environments, Client& client, BatchApplier& applier,
                   modules::GitFetcher& git, const Clock& clock, const SteadyClock& steady,
                   SourceReconcilerOptions options = {});

  ReconcileResult reconcile(const Request& req) override;

  // Maps an object a source applied (labelled with its apply set) to its Environment, so a
  // sync waiting for it is woken when it changes.
  static MapFunc environment_of_member();

 private:
  struct Sync;
  struct Checkout {
    std::string identity;  // SourceSpec::checkout_identity() it was fetched for
    modules::GitCheckout checkout;
    SteadyClock::TimePoint fetched_at;
  };
  enum class Step { kDone, kWaiting, kFailed };
  struct StepResult {
    Step step = Step::kDone;
    std::string reason;   // kWaiting/kFailed: the condition's reason
    std::string message;  // kWaiting/kFailed: what it waits for / why it failed
  };

  // The sync of one Environment, in its steps.
  ReconcileResult sync(const Object& env, const SourceSpec& spec);
  // Fetches (when due), reads the revision's manifests, dry-runs them all and reads what ran;
  // the sync's end when one of these failed (reported), else nullopt.
  std::optional<ReconcileResult> observe(Sync& s);
  // Ends a sync with Synced=False (`reason`, `message`): nothing of `revision` (empty: not
  // known) was applied; looks again after the interval.
  ReconcileResult fail(const Object& env, const SourceSpec& spec, std::string_view reason,
                       const std::string& message, const std::string& revision);
  // Reports a step that waits (Synced=Unknown; looks again soon) or failed (Synced=False).
  ReconcileResult report_step(Sync& s, const StepResult& r);
  // Records that `env` finished a sync (successful or not): the next is due after the interval.
  void mark_synced(const Object& env);
  Result<modules::GitCheckout> checkout(const Object& env, const SourceSpec& spec, bool force);
  // Runs the hooks of one kind for the revision: deletes runs of older revisions, creates the
  // missing ones, waits until all have completed.
  StepResult run_hooks(Sync& s, SourceHook hook);
  // Deletes the CommandRuns of `hook` kind that belong to another revision; true when none is
  // left (gone or being deleted counts as left).
  Result<bool> clear_old_runs(Sync& s, SourceHook hook);
  // Applies the revision's objects (pruning); records runs, inventory, drift events.
  Status apply_revision(Sync& s);
  // The applied objects not Ready yet, "service/web: Ready=False (...)"; a failed run fails.
  StepResult health(Sync& s);
  // Writes status.source and the Synced condition onto the stored Environment (read again on
  // a conflict, since the Environment controller writes its status too).
  Status report(const Object& env, const std::function<void(Object&)>& change);
  void record(const Object& env, EventSeverity type, std::string_view reason,
              std::string_view message);
  Result<modules::GitCredentials> credentials(const Object& env, const SourceSpec& spec);

  Informer& environments_;
  Client& client_;
  BatchApplier& applier_;
  modules::GitFetcher& git_;
  const Clock& clock_;
  const SteadyClock& steady_;
  const SourceReconcilerOptions options_;
  std::mutex mu_;
  std::map<std::string, Checkout> checkouts_;  // by Environment; guarded by mu_
  // When each Environment last had a whole sync (fetch, apply, health); guarded by mu_.
  std::map<std::string, SteadyClock::TimePoint> last_sync_;
};

}  // namespace cenv
