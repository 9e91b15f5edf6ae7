#pragma once
// NamespaceDeleter: empties the namespace of an Environment being deleted, as Kubernetes'
// namespace controller does. Deleting an Environment only marks it terminating
// (deletionTimestamp and the finalizer cenv.io/namespace); its objects then go in batches of
// `batch_size`, each batch its own transaction (watchers see the progress, memory stays
// bounded, and the cost grows linearly with the objects: one listing per step, of objects
// trimmed to their metadata). Objects held by their own finalizers are marked and keep the
// namespace waiting; Events go last, once nothing else waits (they tell why it waits); then
// the Environment's hold goes (DeletionPlan::settle_namespace).
//
// The first batch runs in the call that begins the deletion (a small namespace is gone when
// Delete returns), the rest on a worker thread. When the last object that held a namespace is
// removed (removed()), the namespace is settled within that call too, one batch, the rest again
// on the worker. start() resumes, after a restart, the deletions left unfinished.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/clock.h"
#include "api/kinds.h"
#include "api/object.h"
#include "api/propagation.h"
#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

struct NamespaceDeletionOptions {
  // Objects removed or marked per transaction. Default 500.
  size_t batch_size = 500;
  // Wait before a step that failed (the store unavailable, say) is tried again; doubles with
  // each failure, up to 30 s. Default 1 s.
  std::chrono::milliseconds retry_delay{1000};
  // A namespace left waiting for finalizers is looked at again after this even when removed()
  // was not told (the finalizer went through another controller replica on the same store).
  // Default 2 s.
  std::chrono::milliseconds recheck_waiting{2000};
};

class NamespaceDeleter {
 public:
  struct Hooks {
    // Commits the writes of one batch (and tells watchers). Required.
    std::function<Result<std::vector<Object>>(std::vector<Write>)> commit;
    // Told, after a commit, the objects (as stored) that batch newly left waiting for
    // finalizers, to record why. Optional.
    std::function<void(const std::vector<Object>&)> tell_waiting;
  };

  NamespaceDeleter(Store& store, const KindRegistry& kinds, const Clock& clock, Hooks hooks,
                   NamespaceDeletionOptions options = {});
  ~NamespaceDeleter();  // stop()
  NamespaceDeleter(const NamespaceDeleter&) = delete;
  NamespaceDeleter& operator=(const NamespaceDeleter&) = delete;

  // Begins deleting Environment `env` (not terminating yet) and its namespace: marks it
  // terminating and runs the first batch in this call; what is left goes to the worker.
  // Returns what the first batch wrote, as stored (removed objects as they were), the
  // Environment first; empty when nothing was written. Conflict when a batch kept conflicting
  // with other writers (retry); other store errors as they come.
  Result<std::vector<Object>> begin(const Object& env, Propagation propagation);

  // To be called after a commit removed `key`: when it was the last object holding its
  // namespace's deletion, the namespace is settled (one batch in this call, the rest on the
  // worker). Cheap otherwise (no store access). Never fails: errors are retried on the worker.
  void removed(const ObjectKey& key);
  // To be called after a commit wrote Environment `name` terminating and held for its
  // namespace, by some other path than begin() (a prune, say): the deletion is taken up unless
  // it already is.
  void terminating(const std::string& name);

  // Starts the worker, and hands it every Environment found terminating whose namespace is not
  // empty yet (what a previous controller left unfinished). Until then, deletions go no further
  // than the calls above take them. Store errors from the first listing; Ok when started already.
  Status start();
  // Hands the worker every Environment found terminating whose namespace is not empty yet and
  // that this deleter does not work on already: deletions another replica began and left (it
  // died, or stopped leading). Store errors from the listing.
  Status resume();
  // Stops the worker (after its current batch) and joins it; idempotent. Deletions left
  // unfinished are resumed by the next start().
  void stop();

 private:
  enum class Progress { kFinished, kWaiting, kMore };
  struct StepResult {
    Progress progress = Progress::kFinished;
    std::set<ObjectKey> waiting;   // kWaiting: objects held by their finalizers
    std::vector<Object> reported;  // when beginning: what the first batch wrote, as stored
    size_t removed = 0;            // objects the step removed
  };
  // What a batch does to the Environment: nothing, mark it terminating and held for its
  // namespace, or (the step's last batch) settle it: held while anything is left, else freed.
  enum class Settle { kNone, kMark, kFinal };
  struct Batch {
    std::vector<ObjectKey> gone;  // removed
    std::vector<ObjectKey> held;  // objects of the batch left held by their finalizers
    std::vector<Object> stored;   // what the commit returned
    bool settled = false;         // the namespace is done: nothing of it is left
    bool env_gone = false;        // the Environment is gone (nothing more to do)
  };
  struct Namespace {
    bool busy = false;             // a step runs (on the worker or in a caller's thread)
    bool queued = false;           // in queue_
    bool again = false;            // asked for while busy: step again afterwards
    bool known = false;            // `waiting` is what the last step left
    std::set<ObjectKey> waiting;   // held by their finalizers
    std::set<ObjectKey> released;  // removed while busy
    std::chrono::steady_clock::time_point not_before{};  // after a failed step
    std::chrono::milliseconds backoff{0};
  };

  // One step on namespace `ns`: lists it once, then plans and commits at most `max_batches`
  // batches (fewer when `stop` is requested). `beginning` (with the delete's propagation): the
  // deletion begins here, and the Environment is marked within the first batch.
  Result<StepResult> step(const std::string& ns, std::optional<Propagation> beginning,
                          size_t max_batches, std::stop_token stop);
  // Plans and commits one batch: `chunk` (listed objects of `ns`) removed or marked, and the
  // Environment as `settle` says (`held_before`: objects of earlier batches wait). Plans again
  // from fresh reads when the commit conflicts with another writer.
  Result<Batch> commit_batch(const std::string& ns, std::vector<Object> chunk, Settle settle,
                             Propagation propagation, bool held_before);
  // Runs steps of at most one batch in the calling thread (the namespace is busy), as long as
  // after_step() says so.
  void run_inline(const std::string& ns);
  // Records a step's outcome (busy ends) and queues what is left for the worker. True, for an
  // `inline_caller`, when the objects the step left waiting went meanwhile: the namespace stays
  // busy and the caller steps again at once (a controller whose worker has not started still
  // finishes a small namespace). Caller holds mu_.
  bool after_step(const std::string& ns, const Result<StepResult>& result, bool inline_caller);
  void enqueue(const std::string& ns, Namespace& n);  // caller holds mu_
  // The terminating Environments that hold their namespace, as resume() takes them.
  Result<std::vector<std::string>> unfinished();
  void work(std::stop_token stop);

  Store& store_;
  const KindRegistry& kinds_;
  const Clock& clock_;
  const Hooks hooks_;
  const NamespaceDeletionOptions options_;

  std::mutex mu_;
  std::condition_variable_any cv_;               // the worker's wait, with mu_
  std::map<std::string, Namespace> namespaces_;  // guarded by mu_: deletions under way
  std::deque<std::string> queue_;                // guarded by mu_: namespaces for the worker
  uint64_t enqueued_ = 0;                        // guarded by mu_: queue_ pushes so far
  std::jthread worker_;                          // last: stopped and joined first
};

}  // namespace cenv
