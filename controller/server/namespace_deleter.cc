#include "controller/server/namespace_deleter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "api/finalizers.h"
#include "controller/server/deletion_plan.h"

namespace cenv {

namespace json = boost::json;

namespace {

// Attempts of one batch whose commit conflicts with other writers (each plans again from fresh
// reads of the batch's objects).
constexpr int kBatchAttempts = 8;
constexpr std::chrono::milliseconds kMaxRetryDelay{30'000};

// What a step keeps of each listed object: enough to delete it (kind, namespace, name, and
// resourceVersion as the precondition), to see what holds it (finalizers, deletionTimestamp)
// and to release its owners (ownerReferences). A batch reads in full what it writes back.
Object trimmed(const Object& o) {
  json::object meta;
  if (const json::object* m = o.metadata_or_null()) {
    for (std::string_view k : {"name", "namespace", "uid", "resourceVersion", "finalizers",
                               "deletionTimestamp", "ownerReferences"}) {
      if (auto it = m->find(k); it != m->end()) meta.emplace(k, it->value());
    }
  }
  json::object out;
  out["apiVersion"] = o.api_version();
  out["kind"] = o.kind();
  out["metadata"] = std::move(meta);
  return Object(std::move(out));
}

bool holds_namespace(const Object& env) {
  return has_finalizer(env, kNamespaceFinalizer) || has_finalizer(env, kForegroundFinalizer);
}

}  // namespace

NamespaceDeleter::NamespaceDeleter(Store& store, const KindRegistry& kinds, const Clock& clock,
                                   Hooks hooks, NamespaceDeletionOptions options)
    : store_(store), kinds_(kinds), clock_(clock), hooks_(std::move(hooks)), options_(options) {}

NamespaceDeleter::~NamespaceDeleter() { stop(); }

Result<NamespaceDeleter::Batch> NamespaceDeleter::commit_batch(const std::string& ns,
                                                               std::vector<Object> chunk,
                                                               Settle settle,
                                                               Propagation propagation,
                                                               bool held_before) {
  for (int attempt = 1;; ++attempt) {
    // What is written back (marked) is read in full; after a conflict, everything afresh.
    std::vector<ObjectKey> keys;
    std::vector<size_t> at;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (attempt > 1 || finalizer_count(chunk[i]) > 0) {
        keys.push_back(chunk[i].key());
        at.push_back(i);
      }
    }
    if (!keys.empty()) {
      auto full = store_.get_many(keys);
      if (!full.ok()) return full.status();
      std::vector<bool> gone(chunk.size(), false);
      for (size_t j = 0; j < keys.size(); ++j) {
        if (full.value()[j]) {
          chunk[at[j]] = std::move(*full.value()[j]);
        } else {
          gone[at[j]] = true;
        }
      }
      std::vector<Object> present;
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (!gone[i]) present.push_back(std::move(chunk[i]));
      }
      chunk = std::move(present);
    }

    DeletionPlan plan(store_, kinds_, format_rfc3339(clock_.now()));
    for (const Object& m : chunk) CENV_RETURN_IF_ERROR(plan.remove_member(m));
    bool held = held_before;
    for (const Object& m : chunk) held |= !plan.removing(m.key());
    Batch batch;
    if (settle != Settle::kNone) {
      Status s = plan.settle_namespace(ns, settle == Settle::kMark || held, propagation);
      if (s.code() == Code::kNotFound) {
        batch.env_gone = true;
      } else if (!s.ok()) {
        return s;
      }
      batch.settled = settle == Settle::kFinal && !held;
    }
    std::vector<Write> writes = plan.writes();
    for (const Object& m : chunk) {
      if (!plan.removing(m.key())) batch.held.push_back(m.key());
    }
    if (writes.empty()) return batch;
    auto stored = hooks_.commit(writes);
    if (!stored.ok()) {
      Code code = stored.status().code();
      // Changed or removed meanwhile (a reconciler's write, a user's delete): plan again.
      if ((code == Code::kConflict || code == Code::kNotFound) && attempt < kBatchAttempts) {
        continue;
      }
      return stored.status().with_prefix("deleting namespace " + ns);
    }
    std::vector<Object> told;
    for (size_t i = 0; i < writes.size(); ++i) {
      const ObjectKey key = writes[i].object.key();
      if (writes[i].op == WriteOp::kDelete) {
        batch.gone.push_back(key);
      } else if (plan.newly_waiting(key)) {
        told.push_back(stored.value()[i]);
      }
    }
    batch.stored = std::move(stored).value();
    if (!told.empty() && hooks_.tell_waiting) hooks_.tell_waiting(told);
    return batch;
  }
}

// A step: one listing of the namespace, then its objects in batches (see the class comment).
// Phases: the namespace's content, then (once nothing of it waits) its Events; the last batch
// of the last phase settles the Environment.
Result<NamespaceDeleter::StepResult> NamespaceDeleter::step(const std::string& ns,
                                                            std::optional<Propagation> beginning,
                                                            size_t max_batches,
                                                            std::stop_token stop) {
  StepResult result;
  bool begin = beginning.has_value();
  Propagation propagation = beginning.value_or(Propagation::kBackground);
  if (!begin) {
    auto env = store_.get({"Environment", "", ns});
    if (!env.ok()) {
      if (env.status().code() == Code::kNotFound) return result;
      return env.status();
    }
    // Not being deleted, or its namespace is settled: it waits for its own finalizers only.
    if (!is_being_deleted(env.value()) || !holds_namespace(env.value())) return result;
  }
  // Events go last, once nothing else waits: recorded while the deletion waits, they tell why.
  // Those recorded before it began say nothing about it and go with the rest.
  std::vector<Object> content, events;
  CENV_RETURN_IF_ERROR(for_each_in_namespace(store_, kinds_, ns, [&](const KindInfo& k, Object& o) {
    ((k.kind == "Event" && !begin) ? events : content).push_back(trimmed(o));
  }));
  std::set<ObjectKey> held;
  size_t batches = 0;
  std::vector<std::vector<Object>*> phases = {&content};
  if (!begin) phases.push_back(&events);
  for (size_t p = 0; p < phases.size(); ++p) {
    bool last_phase = p + 1 == phases.size();
    if (p > 0 && !held.empty()) break;  // the Events wait until nothing else does
    std::vector<Object> todo;
    for (Object& m : *phases[p]) {
      if (is_being_deleted(m)) {
        held.insert(m.key());
      } else {
        todo.push_back(std::move(m));
      }
    }
    phases[p]->clear();
    size_t chunks = (todo.size() + options_.batch_size - 1) / options_.batch_size;
    bool must_write = last_phase || (begin && batches == 0);  // settle, or mark at least
    if (chunks == 0 && must_write) chunks = 1;
    for (size_t c = 0; c < chunks; ++c) {
      if (batches > 0 && (batches >= max_batches || stop.stop_requested())) {
        result.progress = Progress::kMore;
        return result;
      }
      size_t from = c * options_.batch_size;
      size_t to = std::min(todo.size(), from + options_.batch_size);
      std::vector<Object> chunk(std::make_move_iterator(todo.begin() + from),
                                std::make_move_iterator(todo.begin() + to));
      Settle settle = Settle::kNone;
      if (last_phase && c + 1 == chunks) {
        settle = Settle::kFinal;
      } else if (begin && batches == 0) {
        settle = Settle::kMark;
      }
      auto batch = commit_batch(ns, std::move(chunk), settle, propagation, !held.empty());
      if (!batch.ok()) return batch.status();
      ++batches;
      result.removed += batch->gone.size();
      for (const ObjectKey& k : batch->gone) held.erase(k);
      for (const ObjectKey& k : batch->held) held.insert(k);
      if (batches == 1 && begin) result.reported = std::move(batch->stored);
      if (batch->env_gone || batch->settled) return result;  // kFinished
    }
  }
  result.progress = Progress::kWaiting;
  result.waiting = std::move(held);
  return result;
}

Result<std::vector<Object>> NamespaceDeleter::begin(const Object& env, Propagation propagation) {
  std::string ns(env.name());
  bool busy;
  {
    std::lock_guard lock(mu_);
    Namespace& n = namespaces_[ns];
    busy = n.busy;
    n.busy = true;
  }
  if (busy) {
    // Its deletion began in another call just now: only mark it (Conflict unless that one
    // failed), and leave the namespace to that one.
    DeletionPlan plan(store_, kinds_, format_rfc3339(clock_.now()));
    CENV_RETURN_IF_ERROR(plan.remove(env, propagation));
    return hooks_.commit(plan.writes());
  }
  auto result = step(ns, propagation, 1, {});
  bool again;
  {
    std::lock_guard lock(mu_);
    again = after_step(ns, result, /*inline_caller=*/true);
  }
  if (again) run_inline(ns);
  if (!result.ok()) return result.status();
  // The Environment first, as a delete reports its target.
  std::vector<Object>& out = result->reported;
  std::stable_partition(out.begin(), out.end(),
                        [](const Object& o) { return o.kind() == "Environment"; });
  return std::move(out);
}

void NamespaceDeleter::removed(const ObjectKey& key) {
  if (key.ns.empty()) return;
  {
    std::lock_guard lock(mu_);
    auto it = namespaces_.find(key.ns);
    if (it == namespaces_.end()) return;
    Namespace& n = it->second;
    if (n.busy) {
      n.released.insert(key);
      return;
    }
    // Not known yet: its step is queued and lists afresh.
    if (!n.known || n.waiting.erase(key) == 0 || !n.waiting.empty()) return;
    n.busy = true;
  }
  run_inline(key.ns);
}

void NamespaceDeleter::terminating(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    auto [it, created] = namespaces_.try_emplace(name);
    if (!created) return;
    it->second.busy = true;
  }
  run_inline(name);
}

void NamespaceDeleter::run_inline(const std::string& ns) {
  for (bool again = true; again;) {
    auto result = step(ns, std::nullopt, 1, {});
    std::lock_guard lock(mu_);
    again = after_step(ns, result, /*inline_caller=*/true);
  }
}

void NamespaceDeleter::enqueue(const std::string& ns, Namespace& n) {
  if (n.queued) return;
  n.queued = true;
  queue_.push_back(ns);
  ++enqueued_;
  cv_.notify_all();
}

bool NamespaceDeleter::after_step(const std::string& ns, const Result<StepResult>& result,
                                  bool inline_caller) {
  Namespace& n = namespaces_[ns];
  n.busy = false;
  if (!result.ok()) {
    n.backoff =
        std::min(kMaxRetryDelay, n.backoff.count() == 0 ? options_.retry_delay : n.backoff * 2);
    n.not_before = std::chrono::steady_clock::now() + n.backoff;
    spdlog::warn("deleting namespace {}: {} (again in {} ms)", ns, result.status().message(),
                 n.backoff.count());
    n.known = false;
    enqueue(ns, n);
    return false;
  }
  n.backoff = std::chrono::milliseconds(0);
  n.not_before = {};
  bool again = std::exchange(n.again, false);
  switch (result->progress) {
    case Progress::kFinished:
      if (!again && !n.queued) {
        namespaces_.erase(ns);
        return false;
      }
      break;
    case Progress::kMore:
      n.known = false;
      again = true;
      break;
    case Progress::kWaiting:
      n.known = true;
      n.waiting = result->waiting;
      for (const ObjectKey& k : n.released) n.waiting.erase(k);
      n.released.clear();
      if (n.waiting.empty() && inline_caller && !again) {
        n.busy = true;
        return true;
      }
      again |= n.waiting.empty();
      if (!again) {
        // Looked at again in a while: what it waits for may go through another replica.
        n.not_before = std::chrono::steady_clock::now() + options_.recheck_waiting;
        enqueue(ns, n);
      }
      break;
  }
  n.released.clear();
  if (again) enqueue(ns, n);
  return false;
}

Result<std::vector<std::string>> NamespaceDeleter::unfinished() {
  ListOptions options;
  options.kind = "Environment";
  auto envs = store_.list(options);
  if (!envs.ok()) return envs.status();
  std::vector<std::string> out;
  for (const Object& env : envs->items) {
    if (is_being_deleted(env) && holds_namespace(env)) out.emplace_back(env.name());
  }
  return out;
}

Status NamespaceDeleter::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return Status::Ok();
  auto names = unfinished();
  if (!names.ok()) return names.status();
  for (const std::string& ns : names.value()) {
    spdlog::info("resuming the deletion of namespace {}", ns);
    enqueue(ns, namespaces_[ns]);
  }
  worker_ = std::jthread([this](std::stop_token stop) { work(stop); });
  return Status::Ok();
}

Status NamespaceDeleter::resume() {
  auto names = unfinished();
  if (!names.ok()) return names.status();
  std::lock_guard lock(mu_);
  for (const std::string& ns : names.value()) {
    auto [it, created] = namespaces_.try_emplace(ns);
    if (!created) continue;  // under way here already
    spdlog::info("taking up the deletion of namespace {}", ns);
    enqueue(ns, it->second);
  }
  return Status::Ok();
}

void NamespaceDeleter::stop() {
  if (!worker_.joinable()) return;
  worker_.request_stop();
  worker_.join();
}

void NamespaceDeleter::work(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    // The first queued namespace that is due; a busy one is stepped again by its caller.
    auto now = std::chrono::steady_clock::now();
    auto next_due = std::chrono::steady_clock::time_point::max();
    std::string ns;
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      Namespace& n = namespaces_[*it];
      if (n.not_before > now) {
        next_due = std::min(next_due, n.not_before);
        continue;
      }
      ns = *it;
      queue_.erase(it);
      n.queued = false;
      if (n.busy) {
        n.again = true;
        ns.clear();
      }
      break;
    }
    if (ns.empty()) {
      // Until something is queued (or, with only delayed retries queued, the first is due).
      uint64_t seen = enqueued_;
      auto queued = [&] { return enqueued_ != seen; };
      if (next_due == std::chrono::steady_clock::time_point::max()) {
        if (queue_.empty()) cv_.wait(lock, stop, queued);
      } else {
        cv_.wait_until(lock, stop, next_due, queued);
      }
      continue;
    }
    Namespace& n = namespaces_[ns];
    n.busy = true;
    n.released.clear();
    lock.unlock();
    auto result = step(ns, std::nullopt, std::numeric_limits<size_t>::max(), stop);
    if (result.ok() && result->progress != Progress::kMore &&
        (result->removed > 0 || result->progress == Progress::kFinished)) {
      spdlog::info("namespace {}: {} objects removed{}", ns, result->removed,
                   result->progress == Progress::kWaiting
                       ? ", " + std::to_string(result->waiting.size()) + " wait for finalizers"
                       : "");
    }
    lock.lock();
    after_step(ns, result, /*inline_caller=*/false);
  }
}

}  // namespace cenv
