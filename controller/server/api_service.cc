#include "controller/server/api_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "api/annotations.h"
#include "api/display_text.h"
#include "api/field_manager.h"
#include "api/json_arena.h"
#include "api/json_fields.h"
#include "api/names.h"
#include "api/write_normalization.h"

namespace cenv {

namespace json = boost::json;

namespace {

// Applies of at least this many objects read the stored ones into a JsonArena (plan_apply).
constexpr size_t kApplyArenaMinItems = 64;

// metadata.generateName + 5 random characters, as Kubernetes does (no vowels: no words).
std::string generated_name(std::string_view prefix) {
  static constexpr char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937 random{std::random_device{}()};
  std::string name(prefix.substr(0, 58));
  std::uniform_int_distribution<size_t> pick(0, sizeof kChars - 2);
  for (int i = 0; i < 5; ++i) name.push_back(kChars[pick(random)]);
  return name;
}

std::string describe(const Object& o) { return describe_object(o); }

// "updated by alice (groups: devs) with field manager kubectl-edit".
std::string updated_message(const Caller& by, const std::string& field_manager) {
  return "updated by " + by.attribution() + " with field manager " +
         escape_for_display(field_manager);
}

// Problems found while preparing an apply, each prefixed with its item's source.
class ApplyProblems {
 public:
  void add(const ApplyItem& item, const std::string& what, bool not_found = false) {
    lines_.push_back(where(item) + what);
    if (!not_found) only_not_found_ = false;
  }
  void add_fields(const std::vector<FieldError>& fields) {
    fields_.insert(fields_.end(), fields.begin(), fields.end());
  }
  bool empty() const { return lines_.empty(); }
  // NotFound when every problem is a missing namespace, Invalid otherwise.
  Status status() {
    std::string message = join_lines(lines_);
    if (only_not_found_) return Status::NotFound(message);
    return Status::Invalid(message, std::move(fields_));
  }
  // "source: " to start a line about `item` (nothing when it has no source).
  static std::string where(const ApplyItem& item) {
    return item.source.empty() ? std::string() : item.source + ": ";
  }
  static std::string join_lines(const std::vector<std::string>& lines) {
    std::string message;
    for (const auto& l : lines) message += (message.empty() ? "" : "\n") + l;
    return message;
  }

 private:
  std::vector<std::string> lines_;
  std::vector<FieldError> fields_;
  bool only_not_found_ = true;
};

// `failed` about `item`, its message prefixed with the item's source.
Status from_item(const Status& failed, const ApplyItem& item) {
  return item.source.empty() ? failed : failed.with_prefix(item.source);
}

}  // namespace

ApiService::ApiService(Store& store, std::shared_ptr<const KindRegistry> kinds, const Clock& clock,
                       NamespaceDeletionOptions namespace_deletion)
    : store_(store), kinds_(std::move(kinds)), clock_(clock) {
  NamespaceDeleter::Hooks hooks;
  hooks.commit = [this](std::vector<Write> writes) { return commit_unobserved(std::move(writes)); };
  hooks.tell_waiting = [this](const std::vector<Object>& waiting) { tell_waiting(waiting); };
  deleter_ = std::make_unique<NamespaceDeleter>(store_, *kinds_, clock_, std::move(hooks),
                                                namespace_deletion);
}

ApiService::~ApiService() { deleter_->stop(); }

Result<const KindInfo*> ApiService::resolve(std::string_view kind) const {
  const KindInfo* info = kinds_->find(kind);
  if (!info) {
    return Status::NotFound("the server doesn't have a resource type \"" +
                            escape_for_display(kind) + "\"");
  }
  return info;
}

Status ApiService::seal_for_write(Object& object, const Object* stored) const {
  if (!has_secrets(object)) return Status::Ok();
  if (secrets_ == nullptr) {
    return Status::FailedPrecondition(describe(object) +
                                      ": spec.secrets: this controller has no data key to "
                                      "seal secrets with");
  }
  return seal_secrets(object, stored, *secrets_);
}

void ApiService::set_metrics(metrics::Registry& registry) {
  commit_seconds_ = &registry
                         .histogram("cenv_store_commit_duration_seconds",
                                    "Time the store took to commit one transaction of writes, "
                                    "failed commits included.")
                         .with({});
}

Result<std::vector<Object>> ApiService::commit_unobserved(std::vector<Write> writes) {
  // The last guard: no plaintext secret reaches the store, whatever path the write took.
  for (Write& w : writes) {
    if (w.op == WriteOp::kDelete || w.op == WriteOp::kUpdateStatus || !has_secrets(w.object)) {
      continue;
    }
    if (secrets_ == nullptr) return seal_for_write(w.object, nullptr);  // FailedPrecondition
    CENV_RETURN_IF_ERROR(seal_plaintext_secrets(w.object, *secrets_));
  }
  auto started = std::chrono::steady_clock::now();
  auto stored = store_.commit(writes);
  if (commit_seconds_ != nullptr) {
    commit_seconds_->observe(std::chrono::steady_clock::now() - started);
  }
  if (stored.ok() && on_commit_) on_commit_();
  return stored;
}

Result<std::vector<Object>> ApiService::commit(std::vector<Write> writes) {
  CENV_RETURN_IF_ERROR(admit_new_content(writes));
  auto stored = commit_unobserved(writes);
  if (!stored.ok()) return stored;
  // The namespace deletions under way learn what they wait for: an object removed (the last
  // one holding its namespace, maybe), an Environment marked by another path (a prune).
  for (size_t i = 0; i < writes.size(); ++i) {
    const Object& o = stored.value()[i];
    if (writes[i].op == WriteOp::kDelete) {
      if (!o.ns().empty()) deleter_->removed(o.key());
    } else if (writes[i].op == WriteOp::kUpdate && o.kind() == "Environment" &&
               is_being_deleted(o) && has_finalizer(o, kNamespaceFinalizer)) {
      deleter_->terminating(std::string(o.name()));
    }
  }
  return stored;
}

Status ApiService::admit_new_content(const std::vector<Write>& writes) {
  std::map<std::string, bool, std::less<>> terminating;  // namespace -> being deleted
  for (const Write& w : writes) {
    // Events still enter: they tell why the deletion waits.
    if (w.op != WriteOp::kCreate || w.object.ns().empty() || w.object.kind() == "Event") continue;
    auto [it, first] = terminating.try_emplace(std::string(w.object.ns()), false);
    if (first) {
      auto env = store_.get({"Environment", "", it->first});
      if (!env.ok() && env.status().code() != Code::kNotFound) return env.status();
      it->second = env.ok() && is_being_deleted(env.value());
    }
    if (it->second) {
      const KindInfo* info = kinds_->find(w.object.kind());
      return Status::Forbidden((info ? info->plural : std::string(w.object.kind())) + " \"" +
                               std::string(w.object.name()) +
                               "\" is forbidden: unable to create new content in namespace " +
                               it->first + " because it is being terminated");
    }
  }
  return Status::Ok();
}

Result<Object> ApiService::commit_one(WriteOp op, Object object) {
  std::vector<Write> writes;
  writes.push_back({op, std::move(object)});
  auto stored = commit(std::move(writes));
  if (!stored.ok()) return stored.status();
  return std::move(stored.value().front());
}

Status ApiService::ensure_default_namespace() {
  Object env;
  env.json()["apiVersion"] = kApiVersion;
  env.json()["kind"] = "Environment";
  env.set_name(kDefaultNamespace);
  env.spec();
  auto existing = store_.get(env.key());
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != Code::kNotFound) return existing.status();
  CENV_RETURN_IF_ERROR(kinds_->default_and_validate(env));
  auto created = commit_one(WriteOp::kCreate, env);
  if (!created.ok() && created.status().code() != Code::kAlreadyExists) return created.status();
  return Status::Ok();
}

Result<ApiService::PreparedApply> ApiService::prepare_apply(std::vector<ApplyItem>& items,
                                                            const ApplyOptions& options) {
  ApplyProblems problems;
  PreparedApply prepared;
  prepared.infos.assign(items.size(), nullptr);
  prepared.generated.assign(items.size(), false);
  prepared.preconditions.resize(items.size());
  std::map<ObjectKey, size_t> seen;
  std::set<std::string> namespaces_in_request;
  for (size_t i = 0; i < items.size(); ++i) {
    Object& o = items[i].object;
    auto kind = manifest_kind(o, *kinds_);
    if (!kind.ok()) {
      problems.add(items[i], kind.status().message());
      continue;
    }
    const KindInfo* info = kind.value();
    prepared.infos[i] = info;
    if (o.name().empty() && !o.generate_name().empty()) {
      if (!options.create_only) {
        problems.add(items[i], describe(o) +
                                   ": metadata.name: Required value: apply cannot use "
                                   "generateName; use a name (or cenv create)");
        continue;
      }
      prepared.generated[i] = true;
      o.set_name(generated_name(o.generate_name()));
    }
    auto normalized = normalize_for_write(o, *info, *kinds_, {options.applyset});
    if (!normalized.ok()) {
      for (const auto& line : write_problems(normalized.status(), o)) problems.add(items[i], line);
      problems.add_fields(normalized.status().fields());
      continue;
    }
    prepared.preconditions[i] = normalized.value();
    auto [it, inserted] = seen.emplace(o.key(), i);
    if (!inserted) {
      problems.add(items[i],
                   describe(o) + ": duplicate object: also defined at " + items[it->second].source);
      continue;
    }
    if (info->kind == "Environment") namespaces_in_request.insert(std::string(o.name()));
  }
  // Namespaces must be Environments that exist, or that this same apply creates.
  std::map<std::string, bool> ns_exists;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!prepared.infos[i] || !prepared.infos[i]->namespaced) continue;
    std::string ns(items[i].object.ns());
    if (ns.empty() || namespaces_in_request.count(ns)) continue;
    auto found = ns_exists.find(ns);
    if (found == ns_exists.end()) {
      auto env = store_.get({"Environment", "", ns});
      if (!env.ok() && env.status().code() != Code::kNotFound) return env.status();
      found = ns_exists.emplace(ns, env.ok()).first;
    }
    if (!found->second) {
      problems.add(items[i],
                   describe(items[i].object) + ": namespace \"" + ns +
                       "\" not found: apply an Environment named \"" + ns + "\" first",
                   /*not_found=*/true);
    }
  }
  if (!problems.empty()) return problems.status();
  for (const auto& [key, index] : seen) prepared.keys.insert(key);
  return prepared;
}

Result<ApiService::ApplyRound> ApiService::plan_apply(std::vector<ApplyItem>& items,
                                                      const PreparedApply& prepared,
                                                      const ApplyOptions& options,
                                                      const std::string& now) {
  ApplyRound round;
  round.outcomes.resize(items.size());
  std::vector<std::string> conflicts;
  std::vector<std::string> existing_names;  // create_only: objects that already exist
  ApplyOptionsSsa ssa{options.field_manager, options.force, now, options.caller.user};
  // Every stored counterpart in one read (one round trip on PostgreSQL, not one per object).
  // A large apply reads them into one arena: most are dropped unchanged at the end of the
  // request, and then each of their many small JSON nodes costs neither a malloc nor a free.
  // A small apply's objects stay on the heap, so that an object a caller keeps holds no arena.
  std::vector<ObjectKey> keys;
  keys.reserve(items.size());
  for (const ApplyItem& item : items) keys.push_back(item.object.key());
  auto stored_items = items.size() >= kApplyArenaMinItems
                          ? store_.get_many_into(keys, JsonArena::make())
                          : store_.get_many(keys);
  if (!stored_items.ok()) return stored_items.status();
  std::map<const KindInfo*, FieldManager> managers;  // one per kind, not one per object
  for (size_t i = 0; i < items.size(); ++i) {
    const Object& desired = items[i].object;
    const std::string where = ApplyProblems::where(items[i]);
    const FieldManager& fields =
        managers.try_emplace(prepared.infos[i], *prepared.infos[i]).first->second;
    std::optional<Object>& existing = stored_items.value()[i];
    if (existing && options.create_only) {
      if (prepared.generated[i]) {
        items[i].object.set_name(generated_name(items[i].object.generate_name()));
        round.renamed = true;
      } else {
        existing_names.push_back(where + describe(desired) + " already exists");
      }
      continue;
    }
    // The version the writer read must still be the stored one (checked again by the store:
    // the write below carries the version read here).
    if (Status held =
            check_precondition(prepared.preconditions[i], desired, existing ? &*existing : nullptr);
        !held.ok()) {
      conflicts.push_back(where + held.message());
      continue;
    }
    if (!existing) {
      auto created = fields.apply(nullptr, desired, ssa);
      if (!created.ok()) return created.status();
      if (Status sealed = seal_for_write(created.value(), nullptr); !sealed.ok()) {
        return from_item(sealed, items[i]);
      }
      round.outcomes[i].emplace(ApplyOutcome{"created", created.value()});
      round.writes.push_back({WriteOp::kCreate, std::move(created.value())});
      round.write_index.push_back(i);
      continue;
    }
    // The common case of a re-apply: nothing changes. The stored object was valid when it was
    // written, so it is neither merged, validated nor sealed again.
    if (fields.unchanged_by(*existing, desired, ssa)) {
      round.outcomes[i].emplace(ApplyOutcome{"unchanged", std::move(*existing)});
      continue;
    }
    const Object& current = *existing;
    auto merged = fields.apply(&current, desired, ssa);
    if (!merged.ok()) {
      conflicts.push_back(items[i].source + ": " + describe(desired) + ": " +
                          merged.status().message());
      continue;
    }
    // Unchanged after all (a secret's plaintext in the manifest, say): not validated again.
    if (merged->json() == current.json()) {
      round.outcomes[i].emplace(ApplyOutcome{"unchanged", current});
      continue;
    }
    // Fields removed from the manifest may leave a part that needs its defaults again.
    Status valid = kinds_->default_and_validate(merged.value());
    if (!valid.ok()) {
      std::string line = items[i].source + ": " + describe(desired) + ": ";
      for (const auto& f : valid.fields()) conflicts.push_back(line + f.path + ": " + f.message);
      if (valid.fields().empty()) conflicts.push_back(line + valid.message());
      continue;
    }
    // An unchanged secret keeps its stored ciphertext, so the comparisons below see it equal.
    if (Status sealed = seal_for_write(merged.value(), &current); !sealed.ok()) {
      return from_item(sealed, items[i]);
    }
    if (merged->json() == current.json()) {
      round.outcomes[i].emplace(ApplyOutcome{"unchanged", current});
      continue;
    }
    // Only managedFields changed (another manager now shares fields): stored, yet unchanged.
    bool changed = fields.owned_view(merged->json()) != fields.owned_view(current.json());
    round.outcomes[i].emplace(ApplyOutcome{changed ? "configured" : "unchanged", merged.value(),
                                           changed_secrets(&current, merged.value())});
    round.writes.push_back({WriteOp::kUpdate, std::move(merged.value())});
    round.write_index.push_back(i);
  }
  if (!existing_names.empty()) {
    return Status::AlreadyExists(ApplyProblems::join_lines(existing_names));
  }
  if (!conflicts.empty()) return Status::Conflict(ApplyProblems::join_lines(conflicts));
  return round;
}

Result<std::vector<ApplyOutcome>> ApiService::plan_prune(const std::set<ObjectKey>& keep,
                                                         const ApplyOptions& options,
                                                         const std::string& now,
                                                         std::vector<Write>& writes) {
  std::vector<ApplyOutcome> pruned;
  if (options.applyset.empty() || !options.prune) return pruned;
  auto selector = LabelSelector::parse(std::string(kApplySetLabel) + "=" + options.applyset);
  if (!selector.ok()) return selector.status();
  DeletionPlan plan(store_, *kinds_, now);
  for (const KindInfo& k : kinds_->kinds()) {
    ListOptions list_options;
    list_options.kind = k.kind;
    list_options.selector = selector.value();
    auto members = store_.list(list_options);
    if (!members.ok()) return members.status();
    for (Object& m : members->items) {
      if (keep.count(m.key()) ||
          std::find(options.keep.begin(), options.keep.end(), m.key()) != options.keep.end()) {
        continue;
      }
      if (m.kind() == "Environment" && m.name() == kDefaultNamespace) continue;
      if (string_field(object_field(m.metadata_or_null(), "annotations"), kPruneAnnotation) ==
          kPruneDisabled) {
        continue;
      }
      CENV_RETURN_IF_ERROR(plan.remove(m, Propagation::kBackground));
      pruned.push_back({"pruned", std::move(m)});
    }
  }
  for (Write& w : plan.writes()) writes.push_back(std::move(w));
  return pruned;
}

Result<std::vector<SourceArchive>> ApiService::check_archives(const std::vector<ApplyItem>& items,
                                                              std::vector<SourceArchive> archives) {
  std::vector<std::string> problems;
  std::set<std::string> sent;
  std::vector<SourceArchive> missing;  // sent, and not stored yet
  for (SourceArchive& a : archives) {
    const std::string shown = escape_for_display(a.digest.substr(0, 80));
    if (!digester_) {
      problems.push_back("archive " + shown + ": this controller does not take source archives");
      continue;
    }
    auto digest = digester_(a.data);
    if (!digest.ok()) {
      problems.push_back("archive " + shown + ": " + digest.status().message());
      continue;
    }
    if (digest.value() != a.digest) {
      problems.push_back("archive " + shown + ": its files have digest " + digest.value());
      continue;
    }
    if (!sent.insert(a.digest).second) continue;
    auto stored = store_.has_archive(a.digest);
    if (!stored.ok()) return stored.status();
    if (!stored.value()) missing.push_back(std::move(a));
  }
  for (const ApplyItem& item : items) {
    const Object& o = item.object;
    if (o.kind() != "Module") continue;
    std::string_view digest = string_field(object_field(o.spec_or_null(), "source"), "digest");
    if (digest.empty() || sent.count(std::string(digest))) continue;
    auto stored = store_.has_archive(std::string(digest));
    if (!stored.ok()) return stored.status();
    if (!stored.value()) {
      problems.push_back(ApplyProblems::where(item) + describe(o) +
                         ": spec.source.digest: Not found: no archive " + std::string(digest) +
                         " was sent with this apply or stored before (cenv apply packs "
                         "spec.source.path and sends it)");
    }
  }
  if (!problems.empty()) return Status::Invalid(ApplyProblems::join_lines(problems));
  return missing;
}

std::vector<ApplyOutcome> ApiService::take_outcomes(ApplyRound& round) {
  std::vector<ApplyOutcome> outcomes;
  outcomes.reserve(round.outcomes.size());
  for (std::optional<ApplyOutcome>& o : round.outcomes) outcomes.push_back(std::move(*o));
  return outcomes;
}

Result<std::vector<ApplyOutcome>> ApiService::apply(std::vector<ApplyItem> items,
                                                    const ApplyOptions& options,
                                                    std::vector<SourceArchive> archives) {
  auto prepared = prepare_apply(items, options);
  if (!prepared.ok()) return prepared.status();
  auto new_archives = check_archives(items, std::move(archives));
  if (!new_archives.ok()) return new_archives.status();
  // Content-addressed, so storing before the objects is safe: an apply that fails afterwards
  // leaves an archive no object names yet, and the next apply of the same folder finds it.
  if (!options.dry_run) {
    for (const SourceArchive& a : new_archives.value()) {
      CENV_RETURN_IF_ERROR(store_.put_archive(a.digest, a.data));
    }
  }
  // Compare with what is stored and write every change in one transaction; a concurrent
  // writer makes the precondition fail, and then the whole apply is planned again.
  for (int attempt = 0;; ++attempt) {
    std::string now = format_rfc3339(clock_.now());
    auto round = plan_apply(items, prepared.value(), options, now);
    if (!round.ok()) return round.status();
    if (round->renamed) {
      if (attempt >= 8) return Status::AlreadyExists("no free name from metadata.generateName");
      continue;
    }
    auto pruned = plan_prune(prepared->keys, options, now, round->writes);
    if (!pruned.ok()) return pruned.status();
    if (options.dry_run) CENV_RETURN_IF_ERROR(admit_new_content(round->writes));
    if (options.dry_run || round->writes.empty()) {
      std::vector<ApplyOutcome> outcomes = take_outcomes(*round);
      for (auto& p : pruned.value()) outcomes.push_back(std::move(p));
      return outcomes;
    }
    auto stored = commit(round->writes);
    if (stored.ok()) {
      for (size_t w = 0; w < round->write_index.size(); ++w) {
        std::optional<ApplyOutcome>& slot = round->outcomes[round->write_index[w]];
        ApplyOutcome written{std::move(slot->action), std::move(stored.value()[w]),
                             std::move(slot->changed_secrets)};
        slot.emplace(std::move(written));
      }
      std::vector<ApplyOutcome> outcomes = take_outcomes(*round);
      for (auto& p : pruned.value()) outcomes.push_back(std::move(p));
      tell_applied(outcomes, options);
      return outcomes;
    }
    bool retryable = stored.status().code() == Code::kConflict ||
                     stored.status().code() == Code::kAlreadyExists ||
                     stored.status().code() == Code::kNotFound;
    if (!retryable || attempt >= 4) return stored.status();
  }
}

void ApiService::tell_waiting(const std::vector<Object>& terminating) const {
  if (!on_event_) return;
  for (const Object& o : terminating) {
    std::string pending;
    const json::object* meta = o.metadata_or_null();
    if (auto it = meta ? meta->find("finalizers") : nullptr;
        meta && it != meta->end() && it->value().is_array()) {
      for (const auto& f : it->value().get_array()) {
        if (!f.is_string() || f.get_string() == kForegroundFinalizer ||
            f.get_string() == kNamespaceFinalizer) {
          continue;
        }
        pending += pending.empty() ? "" : ", ";
        pending += f.get_string();
      }
    }
    if (!pending.empty()) {
      on_event_(o, "Normal", "FinalizersPending", "deletion waits for finalizers: " + pending, "");
    }
    if (has_finalizer(o, kForegroundFinalizer)) {
      on_event_(o, "Normal", "WaitingForDependents",
                "foreground deletion waits until its dependents are deleted", "");
    }
    if (has_finalizer(o, kNamespaceFinalizer)) {
      on_event_(o, "Normal", "NamespaceTerminating",
                "deletion waits until the objects of namespace \"" + std::string(o.name()) +
                    "\" are finalized",
                "");
    }
  }
}

void ApiService::tell_written(const Object& about, std::string_view reason,
                              const std::string& message, const Caller& by) const {
  if (!on_event_ || by.system || about.kind() == "Event") return;
  on_event_(about, "Normal", reason, message, by.user);
}

void ApiService::tell_removed(const Object& about, std::string_view reason,
                              const std::string& message, const Caller& by) const {
  if (!on_event_ || by.system || about.kind() == "Event") return;
  if (!about.ns().empty()) {
    auto env = store_.get({"Environment", "", std::string(about.ns())});
    if (!env.ok() && env.status().code() == Code::kNotFound) return;
  }
  tell_written(about, reason, message, by);
}

void ApiService::tell_applied(const std::vector<ApplyOutcome>& outcomes,
                              const ApplyOptions& options) const {
  const std::string who = options.caller.attribution();
  const std::string manager = " with field manager " + escape_for_display(options.field_manager);
  for (const ApplyOutcome& out : outcomes) {
    if (out.action == "created") {
      tell_written(out.object, "Created", "created by " + who + manager, options.caller);
    } else if (out.action == "configured") {
      tell_written(out.object, "Applied", "applied by " + who + manager, options.caller);
    } else if (out.action == "pruned") {
      tell_written(
          out.object, "Deleted",
          "pruned by " + who + " (not in apply set " + escape_for_display(options.applyset) + ")",
          options.caller);
    }
  }
}

Result<Object> ApiService::get(std::string_view kind, std::string_view ns, std::string_view name) {
  auto info = resolve(kind);
  if (!info.ok()) return info.status();
  ObjectKey key{info.value()->kind, "", std::string(name)};
  if (info.value()->namespaced) key.ns = ns.empty() ? std::string(kDefaultNamespace) : ns;
  auto obj = store_.get(key);
  if (!obj.ok() && obj.status().code() == Code::kNotFound) {
    return Status::NotFound(
        info.value()->plural + " \"" + escape_for_display(name) + "\" not found" +
        (key.ns.empty() ? "" : " in namespace \"" + escape_for_display(key.ns) + "\""));
  }
  return obj;
}

Result<ObjectList> ApiService::list(std::string_view kind, std::string_view ns,
                                    std::string_view label_selector) {
  auto info = resolve(kind);
  if (!info.ok()) return info.status();
  auto selector = LabelSelector::parse(label_selector);
  if (!selector.ok()) return selector.status();
  ListOptions options;
  options.kind = info.value()->kind;
  if (info.value()->namespaced) options.ns = std::string(ns);
  options.selector = std::move(selector.value());
  return store_.list(options);
}

Result<Object> ApiService::update(Object object, const std::string& field_manager,
                                  const Caller& by) {
  auto info = resolve(object.kind());
  if (!info.ok()) return info.status();
  auto normalized = normalize_for_write(object, *info.value(), *kinds_);
  if (!normalized.ok()) return normalized.status();
  int64_t rv = normalized->resource_version;
  FieldManager fields(*info.value());
  for (int attempt = 0;; ++attempt) {
    auto current = get(info.value()->kind, object.ns(), object.name());
    if (!current.ok()) return current.status();
    // Said here with the object's namespace; the store checks it again as it writes.
    CENV_RETURN_IF_ERROR(check_precondition(normalized.value(), object, &current.value()));
    // Ownership follows the stored record, whatever managedFields the writer sent. Without a
    // precondition from the writer, the version read here guards the ownership computed from it.
    std::string now = format_rfc3339(clock_.now());
    Object owned = fields.update(current.value(), object, field_manager, now, by.user);
    CENV_RETURN_IF_ERROR(seal_for_write(owned, &current.value()));
    owned.set_resource_version(rv != 0 ? rv : current->resource_version());
    Result<Object> stored = Status::Internal("unset");
    if (is_being_deleted(current.value())) {
      // deletionTimestamp is the server's; an update cannot take it away. Losing the last
      // finalizer completes the deletion (and whatever waited for it).
      owned.metadata()["deletionTimestamp"] = current->metadata().at("deletionTimestamp");
      DeletionPlan plan(store_, *kinds_, now);
      auto released = plan.finish_if_released(owned);
      if (!released.ok()) return released.status();
      if (released.value()) {
        auto done = commit(plan.writes());
        if (done.ok()) {
          tell_removed(owned, "Updated", updated_message(by, field_manager), by);
          return owned;
        }
        stored = done.status();
      } else {
        stored = commit_one(WriteOp::kUpdate, std::move(owned));
      }
    } else {
      stored = commit_one(WriteOp::kUpdate, std::move(owned));
    }
    // A write that changed nothing is not stored: the version stays, and nothing is told.
    if (stored.ok() && stored->resource_version() != current->resource_version()) {
      tell_written(stored.value(), "Updated", updated_message(by, field_manager), by);
    }
    if (stored.ok() || rv != 0 || stored.status().code() != Code::kConflict || attempt >= 4) {
      return stored;
    }
  }
}

Result<Object> ApiService::update_status(Object object, const Caller& by) {
  auto info = resolve(object.kind());
  if (!info.ok()) return info.status();
  if (info.value()->namespaced && object.ns().empty()) object.set_ns(kDefaultNamespace);
  // Validate the status against the schema on a copy of the stored object, so that a status
  // write cannot smuggle in an invalid status.
  auto current = store_.get(object.key());
  if (!current.ok()) return current.status();
  Object check = current.value();
  if (object.json().contains("status")) {
    check.json()["status"] = object.json().at("status");
  } else {
    check.json().erase("status");
  }
  CENV_RETURN_IF_ERROR(kinds_->default_and_validate(check));
  auto stored = commit_one(WriteOp::kUpdateStatus, std::move(object));
  if (stored.ok() && stored->resource_version() != current->resource_version()) {
    tell_written(stored.value(), "StatusUpdated", "status updated by " + by.attribution(), by);
  }
  return stored;
}

Result<std::vector<Object>> ApiService::remove_environment(const Object& env,
                                                           Propagation propagation,
                                                           const Caller& by) {
  if (!is_being_deleted(env)) {
    auto written = deleter_->begin(env, propagation);
    if (!written.ok()) return written.status();
    if (written->empty()) {
      written->push_back(env);  // nothing written: nothing to tell
    } else {
      tell_written(written->front(), "Deleted", "deleted by " + by.attribution(), by);
    }
    return written;
  }
  if (propagation != Propagation::kForeground || has_finalizer(env, kForegroundFinalizer)) {
    // Already being deleted: nothing new, but its deletion is taken up if nothing has it.
    deleter_->terminating(std::string(env.name()));
    return std::vector<Object>{env};
  }
  // Foreground asked of a deletion under way: it also waits under that finalizer.
  DeletionPlan plan(store_, *kinds_, format_rfc3339(clock_.now()));
  CENV_RETURN_IF_ERROR(plan.remove(env, propagation));
  auto stored = commit(plan.writes());
  if (!stored.ok()) return stored.status();
  tell_written(env, "Deleted", "deleted by " + by.attribution(), by);
  tell_waiting(stored.value());
  return stored;
}

Result<std::vector<Object>> ApiService::remove(std::string_view kind, std::string_view ns,
                                               std::string_view name, int64_t resource_version,
                                               Propagation propagation, const Caller& by) {
  auto info = resolve(kind);
  if (!info.ok()) return info.status();
  if (info.value()->kind == "Environment" && name == kDefaultNamespace) {
    return Status::Forbidden("Environment \"default\" may not be deleted");
  }
  for (int attempt = 0;; ++attempt) {
    auto target = get(info.value()->kind, ns, name);
    if (!target.ok()) return target.status();
    if (resource_version != 0 && target->resource_version() != resource_version) {
      return Status::Conflict("Operation cannot be fulfilled on " + describe(target.value()) +
                              ": the object has been modified; please apply your changes to the "
                              "latest version and try again");
    }
    if (info.value()->kind == "Environment") {
      auto removed = remove_environment(target.value(), propagation, by);
      if (!removed.ok() && removed.status().code() == Code::kConflict && attempt < 4) continue;
      return removed;
    }
    DeletionPlan plan(store_, *kinds_, format_rfc3339(clock_.now()));
    CENV_RETURN_IF_ERROR(plan.remove(target.value(), propagation));
    std::vector<Write> writes = plan.writes();
    if (!writes.empty()) {
      std::vector<WriteOp> ops;
      for (const Write& w : writes) ops.push_back(w.op);
      auto stored = commit(std::move(writes));
      if (!stored.ok()) {
        if (stored.status().code() == Code::kConflict && attempt < 4) continue;
        return stored.status();
      }
      std::vector<Object> waiting;  // left terminating (deletes return the object as it was)
      for (size_t i = 0; i < ops.size(); ++i) {
        if (ops[i] != WriteOp::kDelete && is_being_deleted(stored.value()[i])) {
          waiting.push_back(std::move(stored.value()[i]));
        }
      }
      tell_removed(target.value(), "Deleted", "deleted by " + by.attribution(), by);
      tell_waiting(waiting);
    }
    // The target first, then what went with it, then what is left terminating.
    std::vector<Object> out;
    auto is_target = [&](const Object& o) { return o.key() == target->key(); };
    for (const Object& o : plan.removed()) {
      if (is_target(o)) out.insert(out.begin(), o);
    }
    for (const Object& o : plan.terminating()) {
      if (is_target(o)) out.insert(out.begin(), o);
    }
    if (out.empty()) out.push_back(target.value());  // already terminating: nothing new
    for (const Object& o : plan.removed()) {
      if (!is_target(o)) out.push_back(o);
    }
    for (const Object& o : plan.terminating()) {
      if (!is_target(o)) out.push_back(o);
    }
    return out;
  }
}

}  // namespace cenv
