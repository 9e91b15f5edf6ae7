#include "reconcilers/source_reconciler.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <utility>

#include "api/annotations.h"
#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/json_fields.h"
#include "api/write_normalization.h"

namespace cenv {

namespace json = boost::json;

namespace {

constexpr int kStatusWriteAttempts = 8;

std::string annotation(const Object& o, std::string_view key) {
  return std::string(string_field(object_field(o.metadata_or_null(), "annotations"), key));
}

std::string source_status(const Object& env, std::string_view field) {
  return std::string(string_field(object_field(env.status_or_null(), "source"), field));
}

std::string short_revision(std::string_view revision) {
  return std::string(revision.substr(0, 12));
}

// The reason a failed fetch is reported with (as the Module controller names them).
std::string fetch_reason(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return "SourceNotFound";  // the ref or the path
    case Code::kInvalid:
      return "InvalidSource";  // the URL, a crossed limit, a symbolic link
    default:
      return "SourceUnavailable";
  }
}

}  // namespace

// One sync of one Environment at one revision.
struct SourceReconciler::Sync {
  const Object& env;
  const SourceSpec& spec;
  std::string revision;
  std::string sync_request;                  // the annotation cenv.io/sync-requested-at handled
  std::vector<DesiredObject> desired{};      // in apply order
  std::map<std::string, Object> runs{};      // the namespace's CommandRuns, by name
  std::map<std::string, std::string> ran{};  // status.source.runs: name -> revision it ran for
  bool new_revision = false;

  enum class RunState { kCurrent, kOld, kRan, kMissing };
  RunState run_state(const std::string& name) const {
    if (auto it = runs.find(name); it != runs.end()) {
      const bool current = annotation(it->second, kSourceRevisionAnnotation) == revision &&
                           !is_being_deleted(it->second);
      return current ? RunState::kCurrent : RunState::kOld;
    }
    auto it = ran.find(name);
    return it != ran.end() && it->second == revision ? RunState::kRan : RunState::kMissing;
  }
  // status.source.runs: what ran, for the CommandRuns this revision still names.
  json::array runs_status() const {
    std::set<std::string> named;
    for (const DesiredObject& d : desired) {
      if (d.item.object.kind() == "CommandRun") named.insert(std::string(d.item.object.name()));
    }
    json::array out;
    for (const auto& [name, rev] : ran) {
      if (named.count(name)) out.push_back(json::object{{"name", name}, {"revision", rev}});
    }
    return out;
  }
};

SourceReconciler::SourceReconciler(Informer& environments, Client& client, BatchApplier& applier,
                                   modules::GitFetcher& git, const Clock& clock,
                                   const SteadyClock& steady, SourceReconcilerOptions options)
    : environments_(environments),
      client_(client),
      applier_(applier),
      git_(git),
      clock_(clock),
      steady_(steady),
      options_(std::move(options)) {}

MapFunc SourceReconciler::environment_of_member() {
  return [](const Object& o) {
    std::vector<Request> out;
    const json::object* labels = o.labels();
    if (labels && !o.ns().empty() &&
        string_field(*labels, kApplySetLabel) == source_applyset(o.ns())) {
      out.push_back({"Environment", "", std::string(o.ns())});
    }
    return out;
  };
}

ReconcileResult SourceReconciler::reconcile(const Request& req) {
  ObjectPtr cached = environments_.get("", req.name);
  auto forget = [&] {
    std::lock_guard lock(mu_);
    checkouts_.erase(req.name);
    last_sync_.erase(req.name);
  };
  if (!cached || is_being_deleted(*cached)) {
    forget();
    return ReconcileResult::done();
  }
  const Object& env = *cached;
  auto spec = read_source_spec(env);
  if (!spec.ok() || !spec.value()) {
    forget();
    const bool had = get_condition(env, "Synced").has_value() ||
                     object_field(env.status_or_null(), "source") != nullptr;
    if (spec.ok() && !had) return ReconcileResult::done();
    Status written = report(env, [&](Object& o) {
      if (spec.ok()) {
        o.status().erase("source");
        remove_condition(o, "Synced");
      } else {
        set_condition(o, "Synced", kConditionFalse, "InvalidSpec", spec.status().message(),
                      env.generation(), clock_.now());
      }
    });
    return written.ok() ? ReconcileResult::done() : ReconcileResult::failed(written);
  }
  const SourceSpec& source = *spec.value();
  if (source.suspend) {
    forget();
    const std::string applied = source_status(env, "lastAppliedRevision");
    Status written = report(env, [&](Object& o) {
      set_condition(
          o, "Synced", kConditionFalse, "Suspended",
          "spec.source.suspend is true: not syncing" +
              (applied.empty() ? std::string()
                               : "; revision " + short_revision(applied) + " stays applied"),
          env.generation(), clock_.now());
    });
    return written.ok() ? ReconcileResult::done() : ReconcileResult::failed(written);
  }
  // Due: a new spec, a sync request, the interval passed, or the last sync did not finish.
  const auto now = steady_.now();
  const std::string request = annotation(env, kSyncRequestedAtAnnotation);
  const bool requested = request != source_status(env, "lastHandledSyncRequest");
  {
    std::lock_guard lock(mu_);
    auto last = last_sync_.find(req.name);
    if (!requested && last != last_sync_.end() && now - last->second < source.interval &&
        get_condition(env, "Synced").value_or(Condition{}).observed_generation ==
            env.generation()) {
      // Rounded up: a zero delay would not requeue at all.
      return ReconcileResult::after(std::max(
          std::chrono::ceil<std::chrono::milliseconds>(source.interval - (now - last->second)),
          std::chrono::milliseconds(1)));
    }
    last_sync_.erase(req.name);
  }
  return sync(env, source);
}

Result<modules::GitCredentials> SourceReconciler::credentials(const Object& env,
                                                              const SourceSpec& spec) {
  modules::GitCredentials c = spec.git.credentials;
  if (spec.secret_ref.empty()) return c;
  if (!options_.secrets) {
    return Status::FailedPrecondition(
        "spec.source.secretRef: this controller cannot open "
        "Environment secrets");
  }
  auto secret = open_secret(env, spec.secret_ref, *options_.secrets);
  if (!secret.ok()) return secret.status().with_prefix("spec.source.secretRef");
  (modules::is_ssh_url(spec.git.url) ? c.ssh_private_key : c.token) = std::move(secret).value();
  return c;
}

Result<modules::GitCheckout> SourceReconciler::checkout(const Object& env, const SourceSpec& spec,
                                                        bool force) {
  const std::string name(env.name());
  const std::string identity = spec.checkout_identity();
  const auto now = steady_.now();
  {
    std::lock_guard lock(mu_);
    auto it = checkouts_.find(name);
    if (!force && it != checkouts_.end() && it->second.identity == identity &&
        now - it->second.fetched_at < spec.interval) {
      return it->second.checkout;
    }
  }
  modules::GitSourceSpec git = spec.git;
  auto creds = credentials(env, spec);
  if (!creds.ok()) return creds.status();
  git.credentials = std::move(creds).value();
  auto fetched = git_.fetch(git);
  if (!fetched.ok()) return fetched.status();
  std::lock_guard lock(mu_);
  checkouts_[name] = {identity, fetched.value(), now};
  return fetched;
}

void SourceReconciler::mark_synced(const Object& env) {
  std::lock_guard lock(mu_);
  last_sync_[std::string(env.name())] = steady_.now();
}

ReconcileResult SourceReconciler::fail(const Object& env, const SourceSpec& spec,
                                       std::string_view reason, const std::string& message,
                                       const std::string& revision) {
  const std::string request = annotation(env, kSyncRequestedAtAnnotation);
  record(env, EventSeverity::kWarning, "SyncFailed", std::string(reason) + ": " + message);
  Status written = report(env, [&](Object& o) {
    json::value& src = o.status()["source"];
    if (!src.is_object()) src = json::object();
    if (!revision.empty()) {
      src.get_object()["revision"] = revision;
      src.get_object()["lastAttemptedRevision"] = revision;
    }
    src.get_object()["lastHandledSyncRequest"] = request;
    set_condition(o, "Synced", kConditionFalse, reason, message, env.generation(), clock_.now());
  });
  mark_synced(env);
  return written.ok() ? ReconcileResult::after(spec.interval) : ReconcileResult::failed(written);
}

ReconcileResult SourceReconciler::report_step(Sync& s, const StepResult& r) {
  const bool failed = r.step == Step::kFailed;
  if (failed) record(s.env, EventSeverity::kWarning, r.reason, r.message);
  Status written = report(s.env, [&](Object& o) {
    json::value& src = o.status()["source"];
    if (!src.is_object()) src = json::object();
    src.get_object()["revision"] = s.revision;
    src.get_object()["lastAttemptedRevision"] = s.revision;
    src.get_object()["lastHandledSyncRequest"] = s.sync_request;
    src.get_object()["runs"] = s.runs_status();
    set_condition(o, "Synced", failed ? kConditionFalse : kConditionUnknown, r.reason, r.message,
                  s.env.generation(), clock_.now());
  });
  if (!written.ok()) return ReconcileResult::failed(written);
  if (!failed) return ReconcileResult::after(options_.progress_poll);
  mark_synced(s.env);
  return ReconcileResult::after(s.spec.interval);
}

std::optional<ReconcileResult> SourceReconciler::observe(Sync& s) {
  const std::string env_name(s.env.name());
  const bool requested = s.sync_request != source_status(s.env, "lastHandledSyncRequest");
  auto fetched = checkout(s.env, s.spec, requested);
  if (!fetched.ok()) {
    return fail(s.env, s.spec, fetch_reason(fetched.status()), fetched.status().message(), "");
  }
  s.revision = fetched->commit;
  auto desired =
      desired_objects(fetched->files, s.spec.git.subdir, env_name, s.revision, options_.limits);
  if (!desired.ok()) {
    return fail(s.env, s.spec, "InvalidManifest", desired.status().message(), s.revision);
  }
  s.desired = std::move(desired).value();

  // All or nothing: the whole revision must validate before any of it is written.
  BatchApplyOptions dry;
  dry.field_manager = std::string(kSourceFieldManager);
  dry.dry_run = true;
  dry.force = true;
  dry.applyset = source_applyset(env_name);
  std::vector<BatchApplyItem> all;
  for (const DesiredObject& d : s.desired) all.push_back(d.item);
  auto checked = applier_.apply_batch(std::move(all), dry);
  if (!checked.ok()) {
    const Code code = checked.status().code();
    return fail(s.env, s.spec, code == Code::kInvalid ? "InvalidManifest" : "ApplyFailed",
                checked.status().message(), s.revision);
  }

  auto runs = client_.list("CommandRun", env_name, LabelSelector());
  if (!runs.ok()) return ReconcileResult::failed(runs.status());
  for (Object& r : runs->items) s.runs.emplace(std::string(r.name()), std::move(r));
  // What ran is read from the stored Environment, not the informer's copy: that one may not
  // show yet the runs a sync just recorded while the CommandRun's deletion has already
  // arrived, and the run would be created again.
  auto live = client_.get(s.env.key());
  if (!live.ok()) return ReconcileResult::failed(live.status());
  const json::object* status = object_field(live->status_or_null(), "source");
  if (const json::array* ran = array_field(status, "runs")) {
    for (const json::value& r : *ran) {
      if (!r.is_object()) continue;
      s.ran[std::string(string_field(r.get_object(), "name"))] =
          std::string(string_field(r.get_object(), "revision"));
    }
  }
  // A run of this revision that exists has run at it, whatever the status says.
  for (const auto& [name, run] : s.runs) {
    if (annotation(run, kSourceRevisionAnnotation) == s.revision) s.ran[name] = s.revision;
  }
  s.new_revision = s.revision != string_field(status, "lastAppliedRevision");
  return std::nullopt;
}

ReconcileResult SourceReconciler::sync(const Object& env, const SourceSpec& spec) {
  Sync s{env, spec, "", annotation(env, kSyncRequestedAtAnnotation)};
  if (auto ended = observe(s)) return *ended;

  if (s.new_revision) {
    StepResult pre = run_hooks(s, SourceHook::kPreSync);
    if (pre.step != Step::kDone) return report_step(s, pre);
  }
  auto cleared = clear_old_runs(s, SourceHook::kNone);
  if (!cleared.ok()) return ReconcileResult::failed(cleared.status());
  if (!cleared.value()) {
    return report_step(
        s, {Step::kWaiting, "Progressing",
            "revision " + short_revision(s.revision) +
                ": waiting for the CommandRuns of the previous revision to be deleted"});
  }
  if (Status applied = apply_revision(s); !applied.ok()) {
    return fail(env, spec, "ApplyFailed", applied.message(), s.revision);
  }
  StepResult healthy = health(s);
  if (healthy.step != Step::kDone) return report_step(s, healthy);
  StepResult post = run_hooks(s, SourceHook::kPostSync);
  if (post.step != Step::kDone) return report_step(s, post);

  const std::string done = "revision " + short_revision(s.revision) + " is applied and Ready";
  record(env, EventSeverity::kNormal, "Synced", done);
  Status written = report(env, [&](Object& o) {
    json::value& src = o.status()["source"];
    if (!src.is_object()) src = json::object();
    src.get_object()["lastHandledSyncRequest"] = s.sync_request;
    src.get_object()["runs"] = s.runs_status();
    src.get_object()["lastSyncTime"] = format_rfc3339(clock_.now());
    set_condition(o, "Synced", kConditionTrue, "Applied", done, env.generation(), clock_.now());
  });
  if (!written.ok()) return ReconcileResult::failed(written);
  mark_synced(env);
  return ReconcileResult::after(spec.interval);
}

Result<bool> SourceReconciler::clear_old_runs(Sync& s, SourceHook hook) {
  bool clear = true;
  for (const DesiredObject& d : s.desired) {
    if (d.item.object.kind() != "CommandRun" || d.hook != hook) continue;
    const std::string name(d.item.object.name());
    if (s.run_state(name) != Sync::RunState::kOld) continue;
    clear = false;
    const Object& old = s.runs.at(name);
    if (is_being_deleted(old)) continue;
    DeleteOptions options;
    options.resource_version = old.resource_version();
    Status removed = client_.remove(old.key(), options);
    if (!removed.ok() && removed.code() != Code::kNotFound && removed.code() != Code::kConflict) {
      return removed;
    }
  }
  return clear;
}

SourceReconciler::StepResult SourceReconciler::run_hooks(Sync& s, SourceHook hook) {
  const std::string kind = hook == SourceHook::kPreSync ? "pre-sync" : "post-sync";
  const std::string failed_reason =
      hook == SourceHook::kPreSync ? "PreSyncHookFailed" : "PostSyncHookFailed";
  auto cleared = clear_old_runs(s, hook);
  if (!cleared.ok()) return {Step::kWaiting, "Progressing", cleared.status().message()};
  if (!cleared.value()) {
    return {Step::kWaiting, "Progressing",
            kind + " hooks: waiting for the runs of the previous revision to be deleted"};
  }
  std::vector<BatchApplyItem> create;
  std::vector<std::string> waiting;
  for (const DesiredObject& d : s.desired) {
    if (d.hook != hook) continue;
    const std::string name(d.item.object.name());
    switch (s.run_state(name)) {
      case Sync::RunState::kMissing:
        create.push_back(d.item);
        break;
      case Sync::RunState::kCurrent: {
        const Object& run = s.runs.at(name);
        if (is_condition_true(run, "Failed") ||
            string_field(run.status_or_null(), "phase") == "Failed" ||
            string_field(run.status_or_null(), "phase") == "Cancelled") {
          auto c = get_condition(run, "Failed");
          return {Step::kFailed, failed_reason,
                  kind + " hook commandrun/" + name + " failed" +
                      (c && !c->message.empty() ? ": " + c->message : std::string()) +
                      "; revision " + short_revision(s.revision) +
                      (hook == SourceHook::kPreSync ? " is not applied" : " stays applied")};
        }
        if (!is_condition_true(run, "Complete")) waiting.push_back("commandrun/" + name);
        break;
      }
      case Sync::RunState::kRan:
      case Sync::RunState::kOld:
        break;
    }
  }
  if (!create.empty()) {
    BatchApplyOptions options;
    options.field_manager = std::string(kSourceFieldManager);
    options.force = true;
    options.applyset = source_applyset(s.env.name());
    std::vector<std::string> names;
    for (const BatchApplyItem& i : create) names.push_back(std::string(i.object.name()));
    auto applied = applier_.apply_batch(std::move(create), options);
    if (!applied.ok()) {
      return {Step::kFailed, failed_reason, kind + " hooks: " + applied.status().message()};
    }
    for (const std::string& n : names) {
      s.ran[n] = s.revision;
      waiting.push_back("commandrun/" + n);
    }
    record(s.env, EventSeverity::kNormal, "HookStarted",
           kind + " hooks of revision " + short_revision(s.revision) + " started");
  }
  if (waiting.empty()) return {};
  std::string list;
  for (const std::string& w : waiting) list += (list.empty() ? "" : ", ") + w;
  return {Step::kWaiting, "Progressing",
          "revision " + short_revision(s.revision) + ": waiting for " + kind + " hooks: " + list};
}

Status SourceReconciler::apply_revision(Sync& s) {
  const std::string env_name(s.env.name());
  // What is stored now, to tell which fields a re-apply restored.
  std::map<ObjectKey, Object> before;
  for (const char* kind : {"Module", "Service"}) {
    auto listed = client_.list(kind, env_name, LabelSelector());
    if (!listed.ok()) return listed.status();
    for (Object& o : listed->items) before.emplace(o.key(), std::move(o));
  }
  for (const auto& [name, run] : s.runs) before.emplace(run.key(), run);

  std::vector<BatchApplyItem> items;
  std::vector<ObjectKey> keep;
  json::array inventory;
  for (const DesiredObject& d : s.desired) {
    const Object& o = d.item.object;
    if (o.kind() == "CommandRun") {
      const auto state = s.run_state(std::string(o.name()));
      // A run of this revision is never applied again: were it deleted meanwhile (finished,
      // ttlSecondsAfterFinished), the apply would create it and run it twice. It stays in the
      // inventory, and prune keeps it.
      if (state == Sync::RunState::kCurrent) {
        keep.push_back(s.runs.at(std::string(o.name())).key());
        inventory.push_back(json::object{{"kind", o.kind()}, {"name", o.name()}});
        continue;
      }
      if (state != Sync::RunState::kMissing || d.hook != SourceHook::kNone) continue;
    }
    inventory.push_back(json::object{{"kind", o.kind()}, {"name", o.name()}});
    items.push_back(d.item);
  }
  BatchApplyOptions options;
  options.keep = std::move(keep);
  options.field_manager = std::string(kSourceFieldManager);
  options.force = true;
  options.applyset = source_applyset(env_name);
  options.prune = s.spec.prune;
  auto applied = applier_.apply_batch(std::move(items), options);
  if (!applied.ok()) return applied.status();

  std::map<std::string, int> counts;
  for (const BatchApplyOutcome& out : applied.value()) {
    ++counts[out.action];
    const Object& o = out.object;
    if (out.action == "created" && o.kind() == "CommandRun") {
      s.ran[std::string(o.name())] = s.revision;
    }
    if (out.action == "pruned") {
      record(s.env, EventSeverity::kNormal, "Pruned",
             short_name(o) + " is no longer in the source: deleted");
      continue;
    }
    if (out.action != "configured" || s.new_revision) continue;
    auto was = before.find(o.key());
    if (was == before.end()) continue;
    std::vector<std::string> fields = changed_fields(was->second, o);
    if (fields.empty()) continue;
    std::string list;
    for (const std::string& f : fields) list += (list.empty() ? "" : ", ") + f;
    const std::string message = short_name(o) + " was changed outside the source; restored " +
                                list + " from revision " + short_revision(s.revision);
    record(s.env, EventSeverity::kWarning, "DriftCorrected", message);
    record(o, EventSeverity::kWarning, "DriftCorrected",
           "restored " + list + " from the Git source of Environment " + env_name);
  }
  std::string summary;
  for (const auto& [action, n] : counts) {
    summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + action;
  }
  // A pass that changed nothing is told once it is Ready (sync()), not at every look.
  const bool changed = s.new_revision || counts.count("created") || counts.count("configured") ||
                       counts.count("pruned");
  if (changed) {
    record(s.env, EventSeverity::kNormal, "Applied",
           "applied revision " + short_revision(s.revision) + ": " + summary);
  }
  return report(s.env, [&](Object& o) {
    json::value& src = o.status()["source"];
    if (!src.is_object()) src = json::object();
    json::object& so = src.get_object();
    so["revision"] = s.revision;
    so["lastAttemptedRevision"] = s.revision;
    so["lastAppliedRevision"] = s.revision;
    if (changed || !so.contains("lastSyncTime")) so["lastSyncTime"] = format_rfc3339(clock_.now());
    so["lastHandledSyncRequest"] = s.sync_request;
    so["inventory"] = inventory;
    so["runs"] = s.runs_status();
    if (changed) {
      set_condition(o, "Synced", kConditionUnknown, "Progressing",
                    "revision " + short_revision(s.revision) +
                        " applied; waiting for its objects to be Ready",
                    s.env.generation(), clock_.now());
    }
  });
}

SourceReconciler::StepResult SourceReconciler::health(Sync& s) {
  std::vector<std::string> waiting;
  for (const DesiredObject& d : s.desired) {
    if (d.hook != SourceHook::kNone) continue;
    const Object& want = d.item.object;
    if (want.kind() == "CommandRun" &&
        s.run_state(std::string(want.name())) == Sync::RunState::kRan) {
      continue;  // ran at this revision and was deleted since (ttlSecondsAfterFinished)
    }
    auto stored = client_.get(want.key());
    if (!stored.ok()) {
      waiting.push_back(short_name(want) + ": " + stored.status().message());
      continue;
    }
    if (want.kind() == "CommandRun" && (is_condition_true(*stored, "Failed"))) {
      auto c = get_condition(*stored, "Failed");
      return {Step::kFailed, "RunFailed",
              "revision " + short_revision(s.revision) + ": " + short_name(want) + " failed" +
                  (c && !c->message.empty() ? ": " + c->message : std::string())};
    }
    if (auto why = not_ready(*stored)) waiting.push_back(short_name(want) + ": " + *why);
  }
  if (waiting.empty()) return {};
  std::string list;
  for (size_t i = 0; i < waiting.size() && i < 5; ++i) list += (i ? "; " : "") + waiting[i];
  if (waiting.size() > 5) list += "; and " + std::to_string(waiting.size() - 5) + " more";
  return {Step::kWaiting, "Progressing",
          "revision " + short_revision(s.revision) + " applied; waiting for " + list};
}

// `change` sets conditions with the generation of the Environment the sync read, not the stored
// one: a spec changed meanwhile must still look unobserved, so that it is synced.
Status SourceReconciler::report(const Object& env, const std::function<void(Object&)>& change) {
  Status last = Status::Ok();
  for (int attempt = 0; attempt < kStatusWriteAttempts; ++attempt) {
    auto stored = client_.get(env.key());
    if (!stored.ok()) {
      return stored.status().code() == Code::kNotFound ? Status::Ok() : stored.status();
    }
    Object next = stored.value();
    change(next);
    if (next == stored.value()) return Status::Ok();
    auto written = client_.update_status(next);
    if (written.ok()) return Status::Ok();
    last = written.status();
    if (last.code() != Code::kConflict) return last;
  }
  return last;
}

void SourceReconciler::record(const Object& env, EventSeverity type, std::string_view reason,
                              std::string_view message) {
  if (options_.events) options_.events->record(env, type, reason, message);
}

}  // namespace cenv
