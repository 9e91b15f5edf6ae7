#pragma once
// ApiService: the API's semantics, apart from any transport. The gRPC server is a thin adapter
// over it, and tests drive it in process. It resolves kinds, validates every write against
// crds/ (defaults first), enforces that namespaces are Environments (and that nothing new enters
// one being deleted), and writes through the Store. It owns the NamespaceDeleter that empties
// the namespaces of deleted Environments in the background. Thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/clock.h"
#include "api/environment_secrets.h"
#include "api/kinds.h"
#include "api/metrics_registry.h"
#include "api/object.h"
#include "api/status.h"
#include "api/write_normalization.h"
#include "controller/server/deletion_plan.h"
#include "controller/server/namespace_deleter.h"
#include "controller/store/store.h"

namespace cenv {

struct ApplyItem {
  Object object;
  std::string source;  // where the object came from, prefixed to its errors ("a.yaml, document 2")
};

struct ApplyOutcome {
  std::string action;  // "created", "configured", "unchanged" or "pruned"
  Object object;       // as stored (or as it would be stored, on dry run)
  // "configured": the keys of spec.secrets whose values this apply changes (shown as such,
  // redacted, so that a diff says a secret changed without showing it).
  std::set<std::string> changed_secrets{};
};

struct ApplyOptions {
  std::string field_manager = "cenv";  // who applies: owner of the fields it sets
  bool dry_run = false;                // validate and compute, write nothing
  bool force = false;                  // take over fields other managers own (no Conflict)
  std::string applyset;                // label every object as a member of this set
  // Delete members of `applyset` this apply lacks, but those annotated cenv.io/prune: disabled.
  bool prune = false;
  // Members of `applyset` that `prune` keeps although this apply lacks them.
  std::vector<ObjectKey> keep;
  // Create only, as kubectl create does: an object that exists is AlreadyExists (nothing is
  // written), and metadata.generateName is allowed: the server picks the name (the prefix
  // and 5 random characters) and picks again when that name is taken.
  bool create_only = false;
  // Who applies: recorded in managedFields with the manager, and told as an event (unless
  // it is the controller). Default: the controller's own write.
  Caller caller = Caller::controller();
};

// A module source archive sent with an apply (the CLI packs spec.source.path folders).
struct SourceArchive {
  std::string digest;  // what the Modules' spec.source.digest names
  std::string data;    // a tar, possibly gzip-compressed
};

// Reads an archive and returns the digest of the files it holds; Invalid naming what is wrong
// (not a tar, an entry that escapes, over the size limits). Set by the composition root, which
// sees the module library (the server does not).
using ArchiveDigester = std::function<Result<std::string>(std::string_view data)>;

class ApiService {
 public:
  ApiService(Store& store, std::shared_ptr<const KindRegistry> kinds, const Clock& clock,
             NamespaceDeletionOptions namespace_deletion = {});
  ~ApiService();  // stops the namespace deletions' worker

  // Creates the Environment "default" when missing (namespace default always exists).
  Status ensure_default_namespace();

  // Applies every item in one transaction. Invalid (or NotFound for missing namespaces) with
  // one line per problem, each naming source, object and field, when any item is bad; then
  // nothing is written. An item's metadata.resourceVersion is a precondition: Conflict (and
  // nothing written) when it is not the stored object's, or the object does not exist.
  // Outcomes are in the order of `items`.
  Result<std::vector<ApplyOutcome>> apply(std::vector<ApplyItem> items, const ApplyOptions& options,
                                          std::vector<SourceArchive> archives = {});

  // `kind` may be a kind, plural, singular or short name. For namespaced kinds an empty
  // namespace means "default" in get/update/remove and "all namespaces" in list.
  Result<Object> get(std::string_view kind, std::string_view ns, std::string_view name);
  Result<ObjectList> list(std::string_view kind, std::string_view ns,
                          std::string_view label_selector);
  // Replaces metadata and spec (validated; status ignored). Conflict on a stale resourceVersion,
  // NotFound as get() says it when the object does not exist. `field_manager` takes ownership
  // of every field it changes, recorded with `by`'s user. Default `by`: the controller.
  Result<Object> update(Object object, const std::string& field_manager,
                        const Caller& by = Caller::controller());
  // Replaces status only. Conflict on a stale resourceVersion.
  Result<Object> update_status(Object object, const Caller& by = Caller::controller());
  // Deletes the object with its dependents (DeletionPlan: finalizers, ownerReferences,
  // propagation). Returns every object removed or left terminating, the target first.
  // An Environment takes its namespace, as a Kubernetes namespace: it is marked terminating, the
  // first batch of its objects goes within this call (a small namespace is gone when it
  // returns), the rest in the background (start_namespace_deletions). Forbidden for the
  // Environment "default". `by` deletes (told as an event); default: the controller.
  Result<std::vector<Object>> remove(std::string_view kind, std::string_view ns,
                                     std::string_view name, int64_t resource_version,
                                     Propagation propagation,
                                     const Caller& by = Caller::controller());

  // Starts the background deletion of namespaces, resuming those a previous run left
  // unfinished. Call once the hooks below are set. Store errors from finding those; Ok when
  // already started.
  Status start_namespace_deletions() { return deleter_->start(); }
  // Stops it (after its current batch); what is left resumes at the next start. Call before
  // what the hooks reach goes away; idempotent.
  void stop_namespace_deletions() { deleter_->stop(); }
  // Takes up the namespace deletions found unfinished that this service does not work on
  // (another replica began them): for a replica that begins to lead. Store errors as they come.
  Status resume_namespace_deletions() { return deleter_->resume(); }

  // Called after every successful write (the watch hub's notify). Set before serving.
  void set_on_commit(std::function<void()> on_commit) { on_commit_ = std::move(on_commit); }

  // Times every store commit, failed ones included, in `registry`
  // (cenv_store_commit_duration_seconds). Set before serving; `registry` must outlive the
  // service. Without one, nothing is timed.
  void set_metrics(metrics::Registry& registry);

  // Told of notable transitions of the API's own (a deletion left waiting for finalizers or
  // dependents) and of every write a user (any caller but the controller itself) makes that
  // changes an object other than an Event, to be recorded as Events: the object as stored,
  // type "Normal" or "Warning", a CamelCase reason ("Created", "Applied", "Updated",
  // "StatusUpdated", "Deleted" for the writes), a message ("applied by alice (groups: devs)
  // with field manager cenv") and the user who wrote ("" for the API's own transitions).
  // Must not fail; called after the commit, outside any lock, before the write returns. Set
  // before serving; unset: nothing is told.
  using EventHook =
      std::function<void(const Object& about, std::string_view type, std::string_view reason,
                         std::string_view message, std::string_view user)>;
  void set_on_event(EventHook on_event) { on_event_ = std::move(on_event); }

  // What seals Environment secrets before they are stored (environment_secrets.h). Without
  // one, a write that holds secrets is FailedPrecondition. Must outlive the service.
  void set_secret_box(const SecretBox* box) { secrets_ = box; }

  // How apply() checks the archives it is sent; without one, archives are refused.
  void set_archive_digester(ArchiveDigester digester) { digester_ = std::move(digester); }

  const KindRegistry& kinds() const { return *kinds_; }
  Store& store() { return store_; }

 private:
  Result<const KindInfo*> resolve(std::string_view kind) const;
  // admit_new_content(), store_.commit() and the commit hook, then tells the NamespaceDeleter
  // what it needs to know (objects removed, Environments marked terminating).
  Result<std::vector<Object>> commit(std::vector<Write> writes);
  // store_.commit() followed by the commit hook (the NamespaceDeleter's own commits).
  Result<std::vector<Object>> commit_unobserved(std::vector<Write> writes);
  // Forbidden when a write creates an object (other than an Event) in a namespace whose
  // Environment is being deleted, as Kubernetes' NamespaceLifecycle admission.
  Status admit_new_content(const std::vector<Write>& writes);
  // remove() of an Environment.
  Result<std::vector<Object>> remove_environment(const Object& env, Propagation propagation,
                                                 const Caller& by);
  Result<Object> commit_one(WriteOp op, Object object);
  // seal_secrets() of `object` (a write of it replacing `stored`, or nullptr) under secrets_;
  // FailedPrecondition when it holds secrets and there is no box.
  Status seal_for_write(Object& object, const Object* stored) const;

  // apply() in its steps: prepare (what needs no stored object: kinds, names, normalization,
  // duplicates, namespaces), plan (compare with what is stored: outcomes and writes), prune
  // (members of the apply set the request no longer holds), then commit.
  struct PreparedApply {
    std::vector<const KindInfo*> infos;            // parallel to the items
    std::vector<bool> generated;                   // named from metadata.generateName
    std::vector<WritePrecondition> preconditions;  // metadata.resourceVersion as written
    std::set<ObjectKey> keys;                      // every object of the request
  };
  struct ApplyRound {
    // Parallel to the items; each set once every item has one. Set by emplace, never by
    // assignment: a json::object assigned across storages is copied, and the stored objects
    // plan_apply reads live in an arena of their own.
    std::vector<std::optional<ApplyOutcome>> outcomes;
    std::vector<Write> writes;
    std::vector<size_t> write_index;  // item of each write
    bool renamed = false;             // a generated name was taken: plan again
  };
  // Invalid (every problem, one per line, prefixed with its item's source) or NotFound (when
  // every problem is a missing namespace); names generated objects.
  Result<PreparedApply> prepare_apply(std::vector<ApplyItem>& items, const ApplyOptions& options);
  // AlreadyExists (create_only) or Conflict (stale resourceVersion, fields of another manager,
  // invalid after merging) naming every such item.
  Result<ApplyRound> plan_apply(std::vector<ApplyItem>& items, const PreparedApply& prepared,
                                const ApplyOptions& options, const std::string& now);
  // The outcomes of a round whose every item has one (moved out, storage kept), in item order.
  static std::vector<ApplyOutcome> take_outcomes(ApplyRound& round);
  // Checks each archive's digest and that every Module's spec.source.digest names an archive
  // of the request or of the store; Invalid naming the item and field otherwise. Returns the
  // archives the store lacks (to store before the objects).
  Result<std::vector<SourceArchive>> check_archives(const std::vector<ApplyItem>& items,
                                                    std::vector<SourceArchive> archives);
  // Appends the deletion of each member of options.applyset not in `keep` to `writes`; returns
  // their outcomes ("pruned").
  Result<std::vector<ApplyOutcome>> plan_prune(const std::set<ObjectKey>& keep,
                                               const ApplyOptions& options, const std::string& now,
                                               std::vector<Write>& writes);

  Store& store_;
  std::shared_ptr<const KindRegistry> kinds_;
  const Clock& clock_;
  // Records why each terminating object of a committed deletion still waits.
  void tell_waiting(const std::vector<Object>& terminating) const;
  // Tells on_event_ that `by` wrote `about` (reason, message as EventHook says), unless `by`
  // is the controller or `about` an Event.
  void tell_written(const Object& about, std::string_view reason, const std::string& message,
                    const Caller& by) const;
  // tell_written() of a write that removed `about` from the store, unless that completed the
  // deletion of its namespace (its Environment is gone): an Event there would outlive it.
  void tell_removed(const Object& about, std::string_view reason, const std::string& message,
                    const Caller& by) const;
  // tell_written() of each object an apply created, configured or pruned.
  void tell_applied(const std::vector<ApplyOutcome>& outcomes, const ApplyOptions& options) const;

  std::function<void()> on_commit_;
  metrics::Histogram* commit_seconds_ = nullptr;
  EventHook on_event_;
  ArchiveDigester digester_;
  const SecretBox* secrets_ = nullptr;
  std::unique_ptr<NamespaceDeleter> deleter_;  // last: its worker stops first
};

}  // namespace cenv
