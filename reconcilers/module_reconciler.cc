#include "reconcilers/module_reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/json_fields.h"
#include "api/owner_references.h"
#include "modules/options.h"
#include "reconcilers/module_sources.h"
#include "reconcilers/runtime_image.h"

namespace cenv {

namespace json = boost::json;

namespace {

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& s : items) out.emplace_back(s);
  return out;
}

// True when `o`'s managing owner (ownerReference controller=true) has `uid`.
bool controlled_by(const Object& o, std::string_view uid) {
  for (const OwnerReference& ref : owner_references(o)) {
    if (ref.controller && ref.uid == uid) return true;
  }
  return false;
}

// The Fetched=False reason of a failed fetch.
std::string fetch_failure_reason(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return "SourceNotFound";
    case Code::kUnavailable:
      return "SourceUnavailable";
    case Code::kInvalid: {
      const bool source =
          !s.fields().empty() && s.fields().front().path.rfind("spec.source", 0) == 0;
      return source ? "InvalidSource" : "InvalidManifest";
    }
    default:
      return "FetchFailed";
  }
}

// "a, b and c".
std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += "\"" + names[i] + "\"";
  }
  return out;
}

// The Service `name` as the Module declares it: its spec, the module label, and the Module as
// managing owner.
Result<Object> desired_service(const Object& module, const std::string& name,
                               const json::object& spec) {
  Object svc;
  svc.json()["apiVersion"] = kApiVersion;
  svc.json()["kind"] = "Service";
  svc.set_name(name);
  svc.set_ns(module.ns());
  svc.metadata()["labels"] = json::object{{kModuleLabel, module.name()}};
  svc.json()["spec"] = spec;
  CENV_RETURN_IF_ERROR(set_owner_reference(svc, module, /*controller=*/true));
  return svc;
}

}  // namespace

void set_fetched_status(json::object& status, const FetchedModule& fetched) {
  const modules::ModuleManifest& m = fetched.manifest;
  status["revision"] = fetched.revision;
  status["version"] = m.version.text();
  json::array apt, pip, mods;
  for (const auto& a : m.requirements.apt) apt.emplace_back(a.text());
  for (const auto& p : m.requirements.pip) pip.emplace_back(p.text);
  for (const auto& d : m.requirements.modules) mods.emplace_back(d.name + " " + d.range_text());
  status["requires"] =
      json::object{{"apt", std::move(apt)}, {"pip", std::move(pip)}, {"modules", std::move(mods)}};
  json::object commands;
  for (const auto& [name, c] : m.commands) {
    json::object entry{{"command", string_array(c.command)}, {"args", string_array(c.args)}};
    if (!c.description.empty()) entry["description"] = c.description;
    commands[name] = std::move(entry);
  }
  status["commands"] = std::move(commands);
}

ModuleReconciler::ModuleReconciler(Informer& modules, Informer& services, Client& client,
                                   ModuleFetcher& fetcher, const Clock& clock,
                                   ModuleReconcilerOptions options)
    : modules_(modules),
      services_(services),
      client_(client),
      fetcher_(fetcher),
      clock_(clock),
      options_(options) {}

void ModuleReconciler::event(const Object& module, EventSeverity type, std::string_view reason,
                             std::string_view message) {
  if (options_.events) options_.events->record(module, type, reason, message);
}

ModuleReconciler::ServicesOutcome ModuleReconciler::sync_services(const Object& module,
                                                                  const FetchedModule& fetched) {
  ServicesOutcome out;
  const std::string ns(module.ns());
  auto keep_first = [&out](Status s) {
    if (out.error.ok()) out.error = std::move(s);
  };
  for (const auto& [name, spec] : fetched.manifest.services) {
    auto current = client_.get({"Service", ns, name});
    if (current.ok()) {
      if (!controlled_by(*current, module.uid())) {
        out.conflicts.push_back(name);
        continue;
      }
      // Its deletion is under way; once gone, its event brings the Module back here.
      if (is_being_deleted(*current)) {
        out.terminating.push_back(name);
        continue;
      }
    } else if (current.status().code() != Code::kNotFound) {
      keep_first(current.status().with_prefix("reading Service \"" + name + "\""));
      continue;
    }
    auto desired = desired_service(module, name, spec);
    if (!desired.ok()) {
      keep_first(desired.status());
      continue;
    }
    auto applied = client_.apply(desired.value());
    if (!applied.ok()) {
      keep_first(applied.status().with_prefix("applying Service \"" + name + "\""));
      continue;
    }
    if (!current.ok()) {
      spdlog::info("Module {}/{}: created Service {}", ns, module.name(), name);
      event(module, EventSeverity::kNormal, "ServiceCreated",
            "created Service \"" + name + "\" declared by the module");
    }
    out.applied.push_back(name);
  }

  // Ours that the manifest no longer declares, from the Service cache's owner index. A
  // Service not cached yet is seen on the reconcile its own event brings; the delete is
  // conditional on the cached version, so a stale entry never deletes a newer object.
  for (const ObjectKey& key : services_.dependents_of(module.uid())) {
    ObjectPtr svc = services_.get(key.ns, key.name);
    if (!svc || key.kind != "Service" || !controlled_by(*svc, module.uid()) ||
        fetched.manifest.services.count(key.name) || is_being_deleted(*svc)) {
      continue;
    }
    Status removed = client_.remove(key, {.resource_version = svc->resource_version()});
    if (!removed.ok() && removed.code() != Code::kNotFound) {
      keep_first(removed.with_prefix("deleting Service \"" + key.name + "\""));
      continue;
    }
    spdlog::info("Module {}/{}: deleted Service {}, no longer declared", ns, module.name(),
                 key.name);
    event(module, EventSeverity::kNormal, "ServiceDeleted",
          "deleted Service \"" + key.name + "\", which the module no longer declares");
  }
  return out;
}

Status ModuleReconciler::write_status(const Object& module, const Object& next) {
  if (next == module) return Status::Ok();
  auto written = client_.update_status(next);
  // Deleted meanwhile: nothing to report (its Services go with it).
  if (!written.ok() && written.status().code() != Code::kNotFound) return written.status();
  return Status::Ok();
}

ReconcileResult ModuleReconciler::fetch_failed(const Object& module, Object& next,
                                               const Status& s) {
  const int64_t gen = module.generation();
  const auto now = clock_.now();
  const auto before = get_condition(module, "Fetched");
  std::string reason = fetch_failure_reason(s);
  set_condition(next, "Fetched", kConditionFalse, reason, s.message(), gen, now);
  set_condition(next, "Ready", kConditionFalse, reason, s.message(), gen, now);
  // The same spec gives the same invalid files: stalled until the Module (or its
  // Environment's build request) changes. Anything else may pass on a later try.
  const bool stalled = s.code() == Code::kInvalid;
  if (stalled) {
    set_condition(next, "Stalled", kConditionTrue, reason, s.message(), gen, now);
  } else {
    remove_condition(next, "Stalled");
  }
  set_observed_generation(next);
  if (!before || before->reason != reason || before->message != s.message()) {
    event(module, EventSeverity::kWarning, reason, s.message());
  }
  if (Status w = write_status(module, next); !w.ok()) return ReconcileResult::failed(w);
  if (stalled) return ReconcileResult::done();
  return ReconcileResult::failed(s);
}

void ModuleReconciler::set_services_condition(const Object& module, Object& next,
                                              const ServicesOutcome& services) {
  const int64_t gen = module.generation();
  const auto now = clock_.now();
  if (!services.conflicts.empty()) {
    std::string msg = "Service " + join_names(services.conflicts) +
                      " exists and is not owned by this Module; it is left alone (delete or " +
                      "rename it, and the Module creates its own)";
    auto before = get_condition(module, "ServicesApplied");
    if (!before || before->message != msg) {
      event(module, EventSeverity::kWarning, "ServiceNameConflict", msg);
    }
    set_condition(next, "ServicesApplied", kConditionFalse, "ServiceNameConflict", msg, gen, now);
  } else if (!services.error.ok()) {
    set_condition(next, "ServicesApplied", kConditionFalse, "ServiceApplyFailed",
                  services.error.message(), gen, now);
  } else if (!services.terminating.empty()) {
    set_condition(next, "ServicesApplied", kConditionFalse, "ServiceTerminating",
                  "Service " + join_names(services.terminating) +
                      " is being deleted; it is created again once gone",
                  gen, now);
  } else {
    set_condition(next, "ServicesApplied", kConditionTrue, "ServicesApplied",
                  services.applied.empty() ? "the module declares no services"
                                           : "Service " + join_names(services.applied) + " applied",
                  gen, now);
  }
}

ReconcileResult ModuleReconciler::reconcile(const Request& req) {
  ObjectPtr cached = modules_.get(req.ns, req.name);
  // Gone: its Services go with it (garbage collection by owner reference).
  if (!cached || is_being_deleted(*cached)) return ReconcileResult::done();
  const Object& module = *cached;
  Object next = module;
  const int64_t gen = module.generation();
  const auto now = clock_.now();

  // Observe: the module's files and manifest.
  auto fetched = fetcher_.fetch(module);
  if (!fetched.ok()) return fetch_failed(module, next, fetched.status());
  set_fetched_status(next.status(), fetched.value());
  std::string fetched_msg = fetched->manifest.name + " " + fetched->manifest.version.text() +
                            " at revision " + fetched->revision;
  const auto before = get_condition(module, "Fetched");
  if (!before || before->status != kConditionTrue || before->message != fetched_msg) {
    event(module, EventSeverity::kNormal, "Fetched", fetched_msg);
  }
  set_condition(next, "Fetched", kConditionTrue, "Fetched", fetched_msg, gen, now);

  // Act: the declared Services.
  ServicesOutcome services = sync_services(module, fetched.value());
  set_services_condition(module, next, services);

  // Resolved: the install order of the whole Environment, as its image will be built.
  set_resolved_condition(module, next);

  // Report: Ready, and Stalled while the options are invalid.
  remove_condition(next, "Stalled");
  auto options = modules::resolve_options(
      fetched->manifest, object_field(module.spec_or_null(), "options"), "spec.options");
  auto applied = get_condition(next, "ServicesApplied");
  auto resolved = get_condition(next, "Resolved");
  if (!options.ok()) {
    set_condition(next, "Ready", kConditionFalse, "InvalidOption", options.status().message(), gen,
                  now);
    set_condition(next, "Stalled", kConditionTrue, "InvalidOption", options.status().message(), gen,
                  now);
  } else if (resolved->status != kConditionTrue) {
    set_condition(next, "Ready", kConditionFalse, resolved->reason, resolved->message, gen, now);
  } else if (applied->status != kConditionTrue) {
    set_condition(next, "Ready", kConditionFalse, applied->reason, applied->message, gen, now);
  } else {
    set_condition(next, "Ready", kConditionTrue, "Ready",
                  "fetched " + fetched_msg + "; resolved; options valid; services applied", gen,
                  now);
  }
  set_observed_generation(next);
  if (Status w = write_status(module, next); !w.ok()) return ReconcileResult::failed(w);
  if (!services.error.ok()) return ReconcileResult::failed(services.error);
  return ReconcileResult::done();
}

MapFunc ModuleReconciler::modules_on_build_request(Informer& modules) {
  // The last value seen per Environment: only a new one maps to its Modules.
  struct Seen {
    std::mutex mu;
    std::map<std::string, std::string, std::less<>> requests;  // guarded by mu
  };
  auto seen = std::make_shared<Seen>();
  return [&modules, seen](const Object& env) {
    const std::string value(string_field(object_field(env.metadata_or_null(), "annotations"),
                                         kBuildRequestedAtAnnotation));
    {
      std::lock_guard lock(seen->mu);
      // An Environment going away needs no rebuild; forgetting it keeps the map bounded.
      if (is_being_deleted(env)) {
        if (auto it = seen->requests.find(env.name()); it != seen->requests.end()) {
          seen->requests.erase(it);
        }
        return std::vector<Request>{};
      }
      auto [it, inserted] = seen->requests.try_emplace(std::string(env.name()), value);
      if (!inserted && it->second == value) return std::vector<Request>{};
      it->second = value;
      if (value.empty()) return std::vector<Request>{};
    }
    std::vector<Request> out;
    for (const ObjectPtr& m : modules.list(env.name())) out.push_back(Request::from(*m));
    return out;
  };
}

void ModuleReconciler::set_resolved_condition(const Object& module, Object& next) {
  std::vector<ObjectPtr> beside = modules_.list(module.ns());
  std::erase_if(beside, [&](const ObjectPtr& m) {
    return is_being_deleted(*m) || m->name() == module.name();
  });
  beside.push_back(std::make_shared<const Object>(module));
  auto resolved = resolve_environment_modules(beside, fetcher_);
  const int64_t gen = module.generation();
  const auto now = clock_.now();
  if (!resolved.ok()) {
    set_condition(next, "Resolved", kConditionFalse, "Unresolved",
                  "Environment " + std::string(module.ns()) + ": " + resolved.status().message(),
                  gen, now);
    return;
  }
  std::string order;
  for (const std::string& m : resolved->installed) {
    order += (order.empty() ? "" : ", ") + m.substr(0, m.find('@'));
  }
  set_condition(next, "Resolved", kConditionTrue, "Resolved",
                "install order in Environment " + std::string(module.ns()) + ": " + order, gen,
                now);
}

MapFunc ModuleReconciler::modules_beside(Informer& modules) {
  // The generation last seen per Module uid: a status write maps to nothing.
  struct Seen {
    std::mutex mu;
    std::map<std::string, int64_t, std::less<>> generations;  // guarded by mu
  };
  auto seen = std::make_shared<Seen>();
  return [&modules, seen](const Object& changed) {
    ObjectPtr live = modules.get(changed.ns(), changed.name());
    const bool gone = !live || live->uid() != changed.uid() || is_being_deleted(changed);
    {
      std::lock_guard lock(seen->mu);
      const std::string uid(changed.uid());
      if (gone) {
        seen->generations.erase(uid);
      } else {
        auto [it, inserted] = seen->generations.try_emplace(uid, changed.generation());
        if (!inserted && it->second == changed.generation()) return std::vector<Request>{};
        it->second = changed.generation();
      }
    }
    std::vector<Request> out;
    for (const ObjectPtr& m : modules.list(changed.ns())) {
      if (m->name() != changed.name()) out.push_back(Request::from(*m));
    }
    return out;
  };
}

MapFunc ModuleReconciler::modules_of_service(Informer& modules) {
  return [&modules](const Object& svc) {
    std::set<Request> out;
    for (const OwnerReference& ref : owner_references(svc)) {
      if (ref.kind == "Module" && ref.controller) {
        out.insert({"Module", std::string(svc.ns()), ref.name});
      }
    }
    for (const ObjectPtr& m : modules.list(svc.ns())) {
      auto c = get_condition(*m, "ServicesApplied");
      if (c && c->status == kConditionFalse) out.insert(Request::from(*m));
    }
    return std::vector<Request>(out.begin(), out.end());
  };
}

}  // namespace cenv
