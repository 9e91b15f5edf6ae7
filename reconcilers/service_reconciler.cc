#include "reconcilers/service_reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/json_fields.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/environment_registry.h"
#include "reconcilers/service_dependents.h"
#include "reconcilers/service_reasons.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;

// What one reconcile found, written to status.
struct ServiceReconciler::Outcome {
  std::string phase = "Pending";
  bool ready = false;
  std::string reason;   // of the Ready condition
  std::string message;  // of the Ready condition
  // Healthy condition; empty status leaves it as it was.
  std::string healthy_status;
  std::string healthy_reason;
  std::string healthy_message;
  std::optional<Workload> workload;  // the current one, if any
  bool clear_workload = false;       // no workload exists: clear containerID and endpoints
  int added_restarts = 0;
  // A container was created for a Service that had one (status.containerID) and did not
  // replace it: it vanished outside cenv, which counts as a restart. Judged against the
  // status being written, so a stale cache does not lose the count.
  bool created_after_loss = false;
  // status.image: the image of the workload running the current spec; empty leaves it.
  std::string image;
  // Dependencies the replacement of an older running spec waits for (Observation::held_for).
  std::string held_for;
  ReconcileResult result = ReconcileResult::done();
};

// What reconcile() observed of a Service before acting on it.
struct ServiceReconciler::Observation {
  ServiceSpec spec;
  std::string image;               // the workload's image
  std::string env_image;           // the Environment's status.image
  ObjectPtr env;                   // the Environment (its spec.registry and secrets pull the image)
  Workloads* workloads = nullptr;  // of the Environment's runtime
  bool swarm = false;              // its spec.runtime is swarm
  WorkloadSpec desired;            // what the workload should be
  // Why the Environment's network cannot take a container yet; nullopt when it can.
  std::optional<std::string> network_wait;
  // The workload to keep (the newest with the desired hash, else the newest) and this
  // Service's other workloads (duplicates to remove).
  std::optional<Workload> current;
  std::vector<Workload> extra;
  // This Service's workloads on the other runtime (`other`): the Environment switched runtimes.
  Workloads* other = nullptr;
  std::vector<Workload> switched;
  bool changed_workload = false;  // converge() created or started it: report() looks again
  // Dependencies not yet on their new spec or image, while `current` (running an older spec)
  // is kept until they are: Services roll in dependsOn order. Empty when nothing is held.
  std::string held_for;
};

namespace {

bool parse_time(const std::string& text, std::chrono::system_clock::time_point* out) {
  return !text.empty() && !text.starts_with("0001-") && parse_rfc3339(text, out);
}

}  // namespace

ServiceReconciler::ServiceReconciler(Informer& services, Informer& environments, Client& client,
                                     Workloads& workloads, HealthProber& prober, const Clock& clock,
                                     ServiceReconcilerOptions options)
    : services_(services),
      environments_(environments),
      client_(client),
      workloads_(workloads),
      prober_(prober),
      clock_(clock),
      options_(options) {}

MapFunc ServiceReconciler::services_in_environment(Informer& services) {
  return [&services](const Object& env) {
    std::vector<Request> out;
    for (const ObjectPtr& s : services.list(env.name())) out.push_back(Request::from(*s));
    return out;
  };
}

MapFunc ServiceReconciler::dependents(Informer& services) {
  auto index = std::make_shared<DependentsIndex>(services);
  return [index](const Object& svc) { return index->update_and_find(svc); };
}

std::string ServiceReconciler::dependency_cycle(const Object& svc) {
  // Depth-first from svc; a path back to svc is the cycle to report.
  std::string ns(svc.ns()), start(svc.name());
  std::vector<std::string> path{start};
  std::set<std::string> seen;
  std::function<bool(const std::string&)> visit = [&](const std::string& name) -> bool {
    ObjectPtr o = name == start ? nullptr : services_.get(ns, name);
    std::vector<std::string> deps = name == start ? service_depends_on(svc)
                                    : o           ? service_depends_on(*o)
                                                  : std::vector<std::string>{};
    for (const std::string& d : deps) {
      if (d == start) {
        path.push_back(d);
        return true;
      }
      if (!seen.insert(d).second) continue;
      path.push_back(d);
      if (visit(d)) return true;
      path.pop_back();
    }
    return false;
  };
  if (!visit(start)) return "";
  std::string text;
  for (const std::string& p : path) text += (text.empty() ? "" : " -> ") + p;
  return text;
}

std::string ServiceReconciler::unready_dependencies(const Object& svc,
                                                    const std::vector<std::string>& deps) {
  std::string waiting;
  for (const std::string& d : deps) {
    ObjectPtr o = services_.get(svc.ns(), d);
    std::string why = !o                                ? d + " (not found)"
                      : !is_condition_true(*o, "Ready") ? d + " (not Ready)"
                                                        : "";
    if (!why.empty()) waiting += (waiting.empty() ? "" : ", ") + why;
  }
  return waiting;
}

std::string ServiceReconciler::unrolled_dependencies(const Object& svc,
                                                     const std::vector<std::string>& deps,
                                                     std::string_view env_image) {
  std::string waiting;
  for (const std::string& d : deps) {
    ObjectPtr o = services_.get(svc.ns(), d);
    if (!o) continue;  // nothing to roll before this one
    auto ready = get_condition(*o, "Ready");
    const bool own_image = !string_field(o->spec_or_null(), "image").empty();
    std::string why =
        !ready || ready->status != kConditionTrue || ready->observed_generation < o->generation()
            ? d + " (not Ready on its current spec)"
        : !own_image && string_field(o->status_or_null(), "image") != env_image
            ? d + " (not on image " + std::string(env_image) + " yet)"
            : "";
    if (!why.empty()) waiting += (waiting.empty() ? "" : ", ") + why;
  }
  return waiting;
}

std::chrono::milliseconds ServiceReconciler::crash_backoff(const Request& key, const Workload& w) {
  std::chrono::system_clock::time_point started, finished;
  bool crashed = parse_time(w.started_at, &started) && parse_time(w.finished_at, &finished) &&
                 finished - started < options_.crash_window;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  CrashState& c = crashes_[key];
  if (c.finished_at != w.finished_at) {  // a new exit: count it once
    c.finished_at = w.finished_at;
    c.crashes = crashed ? c.crashes + 1 : 0;
    std::chrono::milliseconds delay{0};
    if (c.crashes >= 2) {
      delay = options_.crash_backoff;
      for (int i = 2; i < c.crashes && delay < options_.max_crash_backoff; ++i) delay *= 2;
      delay = std::min(delay, options_.max_crash_backoff);
    }
    c.not_before = now + delay;
  }
  if (c.not_before <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(c.not_before - now);
}

void ServiceReconciler::event(const Object& svc, EventSeverity type, std::string_view reason,
                              std::string_view message) {
  if (options_.events != nullptr) options_.events->record(svc, type, reason, message);
}

namespace {

// Whether `svc`'s status says the workload `id` (the one running now) passed its last check.
bool still_healthy(const Object& svc, const std::string& id) {
  const json::object* status = svc.status_or_null();
  if (!status || string_field(*status, "containerID") != id) return false;
  auto healthy = get_condition(svc, "Healthy");
  return healthy && healthy->status == kConditionTrue;
}

}  // namespace

ReconcileResult ServiceReconciler::finalize(const Object& svc) {
  Request key = Request::from(svc);
  prober_.forget(key);
  if (!has_finalizer(svc, kCleanupFinalizer)) return ReconcileResult::done();
  WorkloadOwner owner{"Service", std::string(svc.ns()), std::string(svc.name()),
                      std::string(svc.uid())};
  // Both runtimes: the Environment may have switched, or be gone. A swarm that is not there
  // (not a manager) holds nothing of this Service, unless the Environment still runs on it.
  ObjectPtr env = environments_.get("", svc.ns());
  const bool on_swarm = env && string_field(env->spec_or_null(), "runtime") == "swarm";
  std::vector<Workloads*> runtimes{&workloads_};
  if (options_.swarm) runtimes.push_back(options_.swarm);
  for (Workloads* runtime : runtimes) {
    auto found = runtime->find(owner);
    if (!found.ok()) {
      if (runtime == options_.swarm && !on_swarm &&
          found.status().code() == Code::kFailedPrecondition) {
        continue;
      }
      return ReconcileResult::failed(found.status());
    }
    for (const Workload& w : found.value()) {
      if (w.uid != owner.uid) continue;  // not this object's
      if (Status s = runtime->remove(w.id); !s.ok()) return ReconcileResult::failed(s);
      spdlog::info("Service {}/{}: removed {} {}", svc.ns(), svc.name(),
                   w.replicas ? "swarm service" : "container", w.id.substr(0, 12));
    }
  }
  const json::object* annotations = object_field(svc.metadata_or_null(), "annotations");
  if (string_field(annotations, kPurgeVolumesAnnotation) == "true") {
    std::vector<std::string> mounted;
    if (const json::array* vols = array_field(svc.spec_or_null(), "volumes")) {
      for (const json::value& v : *vols) {
        if (!v.is_object()) continue;
        mounted.push_back(
            options_.names.volume(svc.ns(), svc.name(), string_field(v.get_object(), "name")));
      }
    }
    if (Status s = workloads_.remove_volumes(owner, mounted); !s.ok()) {
      return ReconcileResult::failed(s);
    }
  }
  {
    std::lock_guard lock(mu_);
    crashes_.erase(key);
  }
  Object updated = svc;
  remove_finalizer(updated, kCleanupFinalizer);
  auto written = client_.update(updated);
  if (!written.ok() && written.status().code() != Code::kNotFound) {
    return ReconcileResult::failed(written.status());
  }
  return ReconcileResult::done();
}

ReconcileResult ServiceReconciler::reconcile(const Request& req) {
  ObjectPtr cached = services_.get(req.ns, req.name);
  if (!cached) {
    // Deleted (its finalizer already removed the workload), or not this controller's: several
    // controllers (CENV_HOMEs) may share one dockerd, and each sees every io.cenv container's
    // events. A workload is only ever touched through the object it carries the uid of.
    prober_.forget(req);
    std::lock_guard lock(mu_);
    crashes_.erase(req);
    return ReconcileResult::done();
  }
  const Object& svc = *cached;
  if (is_being_deleted(svc)) return finalize(svc);
  if (!has_finalizer(svc, kCleanupFinalizer)) {
    Object updated = svc;
    add_finalizer(updated, kCleanupFinalizer);
    auto written = client_.update(updated);
    if (written.ok()) return ReconcileResult::done();
    // A stale cache (the finalizer may already be there): look again once it caught up.
    if (written.status().code() == Code::kConflict) return {true, {}, Status::Ok()};
    return ReconcileResult::failed(written.status());
  }
  // Each step either hands on to the next or ends the reconcile with the status it wrote.
  Outcome out;
  Observation seen;
  if (auto ended = observe(req, svc, seen, out)) return *ended;
  if (auto ended = converge(req, svc, seen, out)) return *ended;
  return report(req, svc, seen, out);
}

ReconcileResult ServiceReconciler::wait(const Object& svc, Outcome& out, std::string reason,
                                        std::string message) {
  out.phase = "Pending";
  out.reason = std::move(reason);
  out.message = std::move(message);
  return write_status(svc, out);
}

ReconcileResult ServiceReconciler::fail(const Object& svc, Outcome& out, const Status& s,
                                        std::string phase) {
  out.phase = std::move(phase);
  out.reason = service_failure_reason(s);
  out.message = s.message();
  event(svc, EventSeverity::kWarning, out.reason, out.message);
  out.result = ReconcileResult::failed(
      s.with_prefix("Service " + std::string(svc.ns()) + "/" + std::string(svc.name())));
  return write_status(svc, out);
}

std::optional<ReconcileResult> ServiceReconciler::observe(const Request& req, const Object& svc,
                                                          Observation& seen, Outcome& out) {
  auto invalid = [&](const Status& s) {
    out.phase = "Failed";
    out.reason = "InvalidSpec";
    out.message = s.message();
    return write_status(svc, out);
  };
  auto spec = parse_service_spec(svc);
  if (!spec.ok()) return invalid(spec.status());
  seen.spec = std::move(spec).value();
  ObjectPtr env = environments_.get("", svc.ns());
  if (!env)
    return wait(svc, out, "WaitingForEnvironment", "Environment " + req.ns + " does not exist");
  seen.env = env;
  seen.swarm = string_field(env->spec_or_null(), "runtime") == "swarm";
  seen.workloads = seen.swarm ? options_.swarm : &workloads_;
  if (seen.workloads == nullptr) {
    out.phase = "Failed";
    out.reason = "RuntimeUnavailable";
    out.message = "Environment " + req.ns +
                  " has spec.runtime swarm, which this controller "
                  "does not run";
    return write_status(svc, out);
  }
  if (!seen.swarm && seen.spec.replicas != 1) {
    out.phase = "Failed";
    out.reason = "ReplicasUnsupported";
    out.message = "spec.replicas is " + std::to_string(seen.spec.replicas) + " but Environment " +
                  req.ns +
                  " has spec.runtime docker, which runs exactly one container per "
                  "Service: set spec.replicas to 1, or the Environment's spec.runtime to swarm";
    return write_status(svc, out);
  }
  seen.env_image = string_field(env->status_or_null(), "image");
  seen.image = seen.spec.image;
  if (seen.image.empty()) {
    seen.image = seen.env_image;
    if (seen.image.empty()) {
      auto ready = get_condition(*env, "Ready");
      return wait(
          svc, out, "WaitingForImage",
          "Environment " + req.ns + " has no image yet" + (ready ? ": " + ready->message : ""));
    }
  }
  auto desired = service_workload(svc, *env, seen.image, options_.names, options_.secrets);
  if (!desired.ok()) return invalid(desired.status());
  seen.desired = std::move(desired).value();
  if (seen.swarm) {
    seen.desired.supervision = workload_supervision(seen.spec);
    seen.desired.spec_hash = workload_hash(seen.desired);
  }
  if (std::string cycle = dependency_cycle(svc); !cycle.empty()) {
    return wait(svc, out, "DependencyCycle", "dependsOn forms a cycle: " + cycle);
  }
  seen.network_wait =
      network_wait(*env, options_.names, clock_.now(), options_.network_wait_reported_after);

  auto found = seen.workloads->find(seen.desired.owner);
  if (!found.ok()) return fail(svc, out, found.status(), "Pending");
  // Keep one workload of this Service: the newest with the desired hash, else the newest.
  // Workloads of another uid (an earlier Service of this name, or another controller's) are
  // never touched; one holding the name shows as NameConflict when creating.
  for (const Workload& w : found.value()) {
    if (w.uid != seen.desired.owner.uid) continue;
    if (!seen.current || w.spec_hash == seen.desired.spec_hash ||
        seen.current->spec_hash != seen.desired.spec_hash) {
      if (seen.current) seen.extra.push_back(*seen.current);
      seen.current = w;
    } else {
      seen.extra.push_back(w);
    }
  }
  // After a switch of runtimes the old workload is still on the other one. Looked for only
  // when this runtime has none, or another than the status names, so a steady Service makes
  // no extra call.
  seen.other = seen.swarm ? &workloads_ : options_.swarm;
  const std::string_view last_id = string_field(svc.status_or_null(), "containerID");
  if (seen.other && (!seen.current || seen.current->id != last_id)) {
    auto left = seen.other->find(seen.desired.owner);
    if (!left.ok()) {
      // An engine that is not a swarm manager holds no swarm services.
      if (seen.other != options_.swarm || left.status().code() != Code::kFailedPrecondition) {
        return fail(svc, out, left.status(), "Pending");
      }
    } else {
      for (const Workload& w : left.value()) {
        if (w.uid == seen.desired.owner.uid) seen.switched.push_back(w);
      }
    }
  }
  return std::nullopt;
}

std::optional<ReconcileResult> ServiceReconciler::converge(const Request& req, const Object& svc,
                                                           Observation& seen, Outcome& out) {
  const std::string who = req.ns + "/" + req.name;
  for (const Workload& w : seen.extra) {
    if (Status s = seen.workloads->remove(w.id); !s.ok()) return fail(svc, out, s, "Pending");
    spdlog::info("Service {}: removed duplicate container {}", who, w.id.substr(0, 12));
  }
  for (const Workload& w : seen.switched) {
    if (Status s = seen.other->remove(w.id); !s.ok()) return fail(svc, out, s, "Pending");
    const std::string what = (w.replicas ? "swarm service " : "container ") + w.id.substr(0, 12);
    spdlog::info("Service {}: the Environment's runtime changed, removed {}", who, what);
    event(svc, EventSeverity::kNormal, "RuntimeSwitched",
          "the Environment's spec.runtime changed: removed " + what);
    prober_.forget(req);
  }
  bool replaced = false;
  if (seen.current && seen.current->spec_hash != seen.desired.spec_hash && seen.current->running) {
    // Roll in dependsOn order: the running container stays until every dependency runs its
    // new spec and image and is Ready; their status changes bring this Service back.
    seen.held_for = unrolled_dependencies(svc, seen.spec.depends_on, seen.env_image);
    if (!seen.held_for.empty()) return std::nullopt;
  }
  if (seen.current && seen.current->spec_hash != seen.desired.spec_hash) {
    const std::string old_id = seen.current->id;
    if (Status s = seen.workloads->remove(old_id); !s.ok()) return fail(svc, out, s, "Pending");
    spdlog::info("Service {}: spec changed, replacing container {}", who, old_id.substr(0, 12));
    event(svc, EventSeverity::kNormal, "Replaced",
          "spec changed: removed container " + old_id.substr(0, 12));
    prober_.forget(req);
    seen.current.reset();
    replaced = true;
  }
  if (!seen.current) return create(req, svc, seen, out, replaced);
  const Workload& current = *seen.current;
  if (current.replicas) {
    // The swarm restarts its tasks itself; cenv only scales.
    if (current.replicas->desired != seen.desired.replicas &&
        current.spec_hash == seen.desired.spec_hash) {
      if (Status s = seen.workloads->scale(current.id, seen.desired.replicas); !s.ok()) {
        return fail(svc, out, s, "Pending");
      }
      spdlog::info("Service {}: scaled {} from {} to {} replicas", who, current.id.substr(0, 12),
                   current.replicas->desired, seen.desired.replicas);
      event(svc, EventSeverity::kNormal, "Scaled",
            "scaled from " + std::to_string(current.replicas->desired) + " to " +
                std::to_string(seen.desired.replicas) + " replicas");
      seen.changed_workload = true;
    }
    return std::nullopt;
  }
  if (current.running || current.state == "restarting" || current.state == "paused" ||
      current.state == "removing") {
    return std::nullopt;  // running, or Docker is moving it: report() says which
  }
  return restart(req, svc, seen, out);
}

std::optional<ReconcileResult> ServiceReconciler::create(const Request& req, const Object& svc,
                                                         Observation& seen, Outcome& out,
                                                         bool replaced) {
  std::string waiting = unready_dependencies(svc, seen.spec.depends_on);
  if (!waiting.empty()) {
    out.clear_workload = true;
    return wait(svc, out, "WaitingForDependencies", "waiting for " + waiting);
  }
  if (seen.network_wait) {
    // The Environment creates its network (or Docker is away): creating the container now
    // would fail with NetworkNotFound. Its status change enqueues this Service again.
    out.clear_workload = true;
    out.result = ReconcileResult::after(options_.network_recheck);
    return wait(svc, out, "WaitingForNetwork", *seen.network_wait);
  }
  auto auth = registry_auth(*seen.env, seen.image, options_.secrets);
  if (!auth.ok()) {
    out.clear_workload = true;
    return fail(
        svc, out,
        Status::FailedPrecondition("cannot pull " + seen.image + ": " + auth.status().message()));
  }
  if (Status s = seen.workloads->ensure_image(seen.image, *auth); !s.ok()) {
    out.clear_workload = true;
    if (s.code() == Code::kUnauthenticated) {
      s = Status::Unauthenticated(registry_refusal_message(*seen.env, "pull", seen.image, s));
    }
    return fail(svc, out, s, s.code() == Code::kUnavailable ? "Pending" : "Failed");
  }
  auto id = seen.workloads->create(seen.desired);
  if (!id.ok()) {
    Status s = id.status();
    if (s.code() == Code::kAlreadyExists) {
      s = Status::AlreadyExists("a container named " + options_.names.container(req.ns, req.name) +
                                " exists that this Service does not own (no io.cenv labels, "
                                "or those of another Service object or controller); remove "
                                "or rename it: " +
                                s.message());
    }
    out.clear_workload = true;
    return fail(svc, out, s);
  }
  spdlog::info("Service {}/{}: created container {} from {}", req.ns, req.name, id->substr(0, 12),
               seen.image);
  event(svc, EventSeverity::kNormal, "Created",
        "created container " + options_.names.container(req.ns, req.name) + " (" +
            id->substr(0, 12) + ") from " + seen.image);
  out.created_after_loss = !replaced;
  seen.changed_workload = true;
  return std::nullopt;
}

std::optional<ReconcileResult> ServiceReconciler::restart(const Request& req, const Object& svc,
                                                          Observation& seen, Outcome& out) {
  const Workload& current = *seen.current;
  std::chrono::system_clock::time_point started;
  const bool ever_started = parse_time(current.started_at, &started) && current.state != "created";
  if (ever_started) {
    const RestartPolicy policy = seen.spec.restart_policy;
    bool restart = policy == RestartPolicy::kAlways ||
                   (policy == RestartPolicy::kOnFailure && current.exit_code != 0);
    const bool bad_command = current.exit_code == 126 || current.exit_code == 127;
    if (!restart) {
      prober_.forget(req);
      out.workload = current;
      out.phase = current.exit_code == 0 ? "Stopped" : "Failed";
      out.reason = current.exit_code == 0 ? "Completed" : bad_command ? "BadCommand" : "Exited";
      out.message = exit_text(current.exit_code);
      return write_status(svc, out);
    }
    if (auto delay = crash_backoff(req, current); delay.count() > 0) {
      out.workload = current;
      out.phase = "Failed";
      out.reason = bad_command ? "BadCommand" : "CrashLoopBackOff";
      event(svc, EventSeverity::kWarning, "BackOff",
            "back-off restarting: " + exit_text(current.exit_code));
      out.message = exit_text(current.exit_code) + "; restarting in " +
                    std::to_string((delay.count() + 999) / 1000) + "s";
      out.result = ReconcileResult::after(delay);
      return write_status(svc, out);
    }
  }
  if (seen.network_wait) {
    // Starting it now would fail with NetworkNotFound (the network was removed, or Docker is
    // away): wait for the Environment to have it again.
    out.workload = current;
    out.result = ReconcileResult::after(options_.network_recheck);
    return wait(svc, out, "WaitingForNetwork", *seen.network_wait);
  }
  if (Status s = seen.workloads->start(current.id); !s.ok()) {
    out.workload = current;
    return fail(svc, out, s);
  }
  if (ever_started) {
    out.added_restarts = 1;
    spdlog::info("Service {}/{}: restarted container {} (exit code {})", req.ns, req.name,
                 current.id.substr(0, 12), current.exit_code);
    event(svc, EventSeverity::kNormal, "Restarted",
          "restarted container " + current.id.substr(0, 12) + " after it exited with code " +
              std::to_string(current.exit_code));
  }
  seen.changed_workload = true;
  return std::nullopt;
}

ReconcileResult ServiceReconciler::report(const Request& req, const Object& svc, Observation& seen,
                                          Outcome& out) {
  if (seen.changed_workload) {
    auto again = seen.workloads->find(seen.desired.owner);
    if (!again.ok()) return fail(svc, out, again.status(), "Pending");
    seen.current.reset();
    for (const Workload& w : again.value()) {
      if (w.uid == seen.desired.owner.uid && w.spec_hash == seen.desired.spec_hash) {
        seen.current = w;
      }
    }
    if (!seen.current) {
      out.phase = "Pending";
      out.reason = "Starting";
      out.message = "container is being created";
      out.result = ReconcileResult::after(std::chrono::milliseconds(200));
      return write_status(svc, out);
    }
  }
  if (seen.current->replicas) return report_replicas(req, svc, seen, out);
  const Workload& current = *seen.current;
  out.workload = current;
  if (current.spec_hash == seen.desired.spec_hash) out.image = seen.image;
  out.held_for = seen.held_for;
  if (!current.running) {
    // restarting, paused or removing: Docker is moving it; look again shortly.
    out.phase = "Starting";
    out.reason = "NotRunning";
    out.message = "container is " + current.state;
    out.result = ReconcileResult::after(std::chrono::milliseconds(500));
    return write_status(svc, out);
  }
  if (!seen.spec.health_check) {
    prober_.forget(req);
    out.phase = "Ready";
    out.ready = true;
    out.reason = "Running";
    out.message = "container is running (no health check)";
    out.healthy_status = kConditionTrue;
    out.healthy_reason = "NoHealthCheck";
    out.healthy_message = "no health check: healthy while running";
    return write_status(svc, out);
  }
  HealthState health = prober_.observe(
      req, {current.id, current.started_at, current.address, *seen.spec.health_check});
  switch (health.health) {
    case Health::kHealthy:
      out.phase = "Ready";
      out.ready = true;
      out.reason = "Healthy";
      out.message = "container is running and healthy";
      out.healthy_status = kConditionTrue;
      out.healthy_reason = "HealthCheckPassed";
      break;
    case Health::kUnknown:
      if (!seen.changed_workload && still_healthy(svc, current.id)) {
        // Adopted after a controller restart: the container this object last saw healthy
        // keeps that state until the first check of this controller says otherwise.
        out.phase = "Ready";
        out.ready = true;
        out.reason = "Healthy";
        out.message =
            "container is running and healthy (last check before the controller restarted)";
        out.healthy_status = kConditionTrue;
        out.healthy_reason = "HealthCheckPassed";
        break;
      }
      out.phase = "Starting";
      out.reason = "Starting";
      out.message = "waiting for the first health check to pass";
      out.healthy_status = kConditionUnknown;
      out.healthy_reason = "Starting";
      break;
    case Health::kUnhealthy:
      if (auto h = get_condition(svc, "Healthy"); !h || h->status != kConditionFalse) {
        event(svc, EventSeverity::kWarning, "Unhealthy", health.message);
      }
      out.phase = "Running";
      out.reason = "Unhealthy";
      out.message = "container is running but unhealthy: " + health.message;
      out.healthy_status = kConditionFalse;
      out.healthy_reason = "HealthCheckFailed";
      break;
  }
  out.healthy_message = health.message.empty() ? out.message : health.message;
  return write_status(svc, out);
}

ReconcileResult ServiceReconciler::report_replicas(const Request& req, const Object& svc,
                                                   Observation& seen, Outcome& out) {
  prober_.forget(req);  // the swarm checks health: a task counts as running once healthy
  const Workload& current = *seen.current;
  const WorkloadReplicas& r = *current.replicas;
  out.workload = current;
  if (current.spec_hash == seen.desired.spec_hash) out.image = seen.image;
  out.held_for = seen.held_for;
  std::string where;
  for (const std::string& n : r.nodes) where += (where.empty() ? " on " : ", ") + n;
  const std::string counts =
      std::to_string(r.ready) + "/" + std::to_string(r.desired) + " replicas running" + where;
  if (r.ready >= r.desired) {
    out.phase = "Ready";
    out.ready = true;
    out.reason = "Running";
    out.message = counts;
    out.healthy_status = kConditionTrue;
    out.healthy_reason = "TasksRunning";
    out.healthy_message = r.desired == 0 ? "scaled to 0 replicas"
                                         : "every task is running (and healthy, with a check)";
    out.result = ReconcileResult::after(options_.swarm_recheck);
    return write_status(svc, out);
  }
  out.phase = r.ready > 0 ? "Running" : "Starting";
  out.reason = r.problem.empty() ? "ReplicasStarting" : "TasksFailing";
  out.message = counts + (r.problem.empty() ? "" : "; " + r.problem);
  out.healthy_status = r.problem.empty() ? kConditionUnknown : kConditionFalse;
  out.healthy_reason = r.problem.empty() ? "Starting" : "TasksFailing";
  out.healthy_message = out.message;
  out.result = ReconcileResult::after(options_.replicas_recheck);
  return write_status(svc, out);
}

ReconcileResult ServiceReconciler::write_status(const Object& svc, Outcome& out) {
  // Held for dependencies: their status changes bring it back; a recheck as a backstop.
  if (!out.held_for.empty() && out.result.error.ok() && out.result.requeue_after.count() == 0) {
    out.result = ReconcileResult::after(options_.network_recheck);
  }
  // A stale cache (our own last write not seen yet) conflicts: build on the stored object,
  // so a counted restart is not lost.
  Object base = svc;
  for (int attempt = 0;; ++attempt) {
    Object next = base;
    apply_outcome(next, out);
    if (next == base) return out.result;
    auto written = client_.update_status(next);
    if (written.ok()) return out.result;
    if (written.status().code() != Code::kConflict || attempt >= 2) {
      return ReconcileResult::failed(written.status());
    }
    auto fresh = client_.get(svc.key());
    if (!fresh.ok()) return ReconcileResult::failed(fresh.status());
    base = std::move(fresh.value());
  }
}

void ServiceReconciler::apply_outcome(Object& next, const Outcome& out) const {
  const int64_t gen = next.generation();
  const auto now = clock_.now();
  json::object& status = next.status();
  int64_t restarts = 0;
  if (auto* r = status.if_contains("restarts"); r && r->is_number()) {
    restarts = r->to_number<int64_t>();
  }
  restarts += out.added_restarts;
  if (out.created_after_loss && out.workload) {
    std::string_view last_id = string_field(status, "containerID");
    if (!last_id.empty() && last_id != out.workload->id) ++restarts;
  }
  status["restarts"] = restarts;
  status["phase"] = out.phase;
  if (!out.image.empty()) status["image"] = out.image;
  if (out.workload) {
    const std::optional<WorkloadReplicas>& r = out.workload->replicas;
    // As int64: the schema's integer bounds are checked against signed numbers.
    status["replicas"] = static_cast<int64_t>(r ? r->desired : 1);
    status["readyReplicas"] = static_cast<int64_t>(r ? r->ready : (out.workload->running ? 1 : 0));
    if (r && !r->nodes.empty()) {
      json::array nodes;
      for (const std::string& n : r->nodes) nodes.emplace_back(n);
      status["nodes"] = std::move(nodes);
    } else {
      status.erase("nodes");
    }
    status["containerID"] = out.workload->id;
    json::array endpoints;
    for (const std::string& e : out.workload->endpoints) endpoints.emplace_back(e);
    if (endpoints.empty()) {
      status.erase("endpoints");
    } else {
      status["endpoints"] = std::move(endpoints);
    }
  } else if (out.clear_workload) {
    status.erase("containerID");
    status.erase("endpoints");
    status.erase("nodes");
    if (status.contains("readyReplicas")) status["readyReplicas"] = int64_t{0};
  }
  const std::string message =
      out.held_for.empty()
          ? out.message
          : out.message + "; the previous spec keeps running until " + out.held_for + " rolled";
  set_condition(next, "Ready", out.ready ? kConditionTrue : kConditionFalse, out.reason, message,
                gen, now);
  if (!out.healthy_status.empty()) {
    set_condition(next, "Healthy", out.healthy_status, out.healthy_reason, out.healthy_message, gen,
                  now);
  } else if (!out.ready) {
    // Not running: nothing is checked.
    if (auto h = get_condition(next, "Healthy"); h && h->status == kConditionTrue) {
      set_condition(next, "Healthy", kConditionUnknown, "NotRunning", out.message, gen, now);
    }
  }
  set_observed_generation(next);
}

}  // namespace cenv
