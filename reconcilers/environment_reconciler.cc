#include "reconcilers/environment_reconciler.h"

#include <spdlog/spdlog.h>

#include "api/clock.h"
#include "api/conditions.h"
#include "api/environment_secrets.h"
#include "api/finalizers.h"
#include "api/json_fields.h"
#include "modules/tar_archive.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/environment_registry.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;

namespace {

constexpr std::string_view kDefaultBaseImage = "cenv/base:bookworm";

// Cleanup waits for the Services' containers to leave the network.
constexpr std::chrono::milliseconds kNetworkBusyRetry{1000};
// A status write refused as stale is tried again after this.
constexpr std::chrono::milliseconds kStaleCacheRetry{20};

// Condition SecretsReady: whether every spec.secrets value opens with the controller's keys
// (a sealed value tampered with, or sealed under a key it lacks, does not). Only the
// message of the first failure is kept: it names the key, never any part of a value.
void report_secrets(const Object& env, Object& next, const SecretOpener* secrets, int64_t gen,
                    std::chrono::system_clock::time_point now) {
  if (!has_secrets(env)) {
    remove_condition(next, "SecretsReady");
    return;
  }
  Status opened = secrets ? check_secrets_open(env, *secrets)
                          : Status::FailedPrecondition("this controller has no data key");
  if (opened.ok()) {
    set_condition(next, "SecretsReady", kConditionTrue, "Opened",
                  "every secret opens with the data key", gen, now);
  } else {
    set_condition(next, "SecretsReady", kConditionFalse, "CannotOpen", opened.message(), gen, now);
  }
}

std::string base_image(const Object& env) {
  const json::object* spec = env.spec_or_null();
  std::string_view image = spec ? Object::str_field(*spec, "baseImage") : "";
  return image.empty() ? std::string(kDefaultBaseImage) : std::string(image);
}

}  // namespace

EnvironmentReconciler::EnvironmentReconciler(Informer& environments, Informer& modules,
                                             Client& client, DockerConnection& docker,
                                             const Clock& clock,
                                             EnvironmentReconcilerOptions options)
    : environments_(environments),
      client_(client),
      docker_(docker),
      clock_(clock),
      options_(std::move(options)),
      modules_(modules),
      builder_(docker, options_.logs, clock, options_.builds) {
  builder_.set_notify([this](const std::string& env) {
    std::function<void(const Request&)> notify;
    {
      std::lock_guard lock(mu_);
      notify = notify_;
    }
    if (notify) notify(Request{"Environment", "", env});
  });
}

void EnvironmentReconciler::set_notify(std::function<void(const Request&)> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

bool EnvironmentReconciler::remove_orphans(docker::DockerClient& d, const Object& env,
                                           const docker::NetworkInfo& network) {
  bool clear = true;
  for (const auto& [id, address] : network.containers) {
    auto c = d.inspect_container(id);
    if (!c.ok()) {
      if (c.status().code() != Code::kNotFound) clear = false;
      continue;
    }
    const docker::Labels& labels = c->labels;
    std::string kind = label_value(labels, kLabelKind);
    std::string name = label_value(labels, kLabelName);
    if (!options_.names.owns(labels) || label_value(labels, kLabelNamespace) != env.name() ||
        kind.empty() || name.empty()) {
      clear = false;  // someone else's: never touched, and the network waits for it
      continue;
    }
    auto owner = client_.get({kind, std::string(env.name()), name});
    if (owner.ok() && owner->uid() == label_value(labels, kLabelUid)) {
      clear = false;  // its object is still being finalized and removes it
      continue;
    }
    if (!owner.ok() && owner.status().code() != Code::kNotFound) {
      clear = false;
      continue;
    }
    Status removed = d.remove_container(id, {.force = true});
    if (!removed.ok() && removed.code() != Code::kNotFound) {
      clear = false;
      continue;
    }
    spdlog::info("Environment {}: removed container {} of {} {}/{}, whose object is gone",
                 env.name(), c->name, kind, env.name(), name);
  }
  return clear;
}

ReconcileResult EnvironmentReconciler::finalize(const Object& env) {
  if (!has_finalizer(env, kCleanupFinalizer)) return ReconcileResult::done();
  // A build still running would tag an image after its removal below: it ends first.
  if (!builder_.cancel(std::string(env.uid()))) return ReconcileResult::after(kNetworkBusyRetry);
  auto d = docker_.client();
  if (!d.ok()) return ReconcileResult::failed(d.status());
  // Both runtimes' networks: it may have been deleted in the middle of a switch.
  std::vector<std::string> networks{runtime_network(env, options_.names, false)};
  if (std::string swarm = runtime_network(env, options_.names, true); swarm != networks[0]) {
    networks.push_back(swarm);
  }
  for (const std::string& network : networks) {
    auto info = d.value()->inspect_network(network);
    // Only the network cenv created for this very Environment (its uid); never a user's own,
    // nor one another controller sharing dockerd created for its Environment of this name.
    if (info.ok() && made_for(env, *info)) {
      if (!info->containers.empty()) {
        // Its Services are still being deleted; their containers leave the network first. A
        // container whose object is gone (its finalizers were removed by hand before the
        // controller removed it) would hold the network, and so the namespace, forever: one this
        // instance created for an object of this namespace that no longer exists is removed.
        if (!remove_orphans(*d.value(), env, info.value())) {
          return ReconcileResult::after(kNetworkBusyRetry);
        }
      }
      Status s = d.value()->remove_network(info->id);
      if (!s.ok() && s.code() != Code::kNotFound) {
        if (s.code() == Code::kConflict || s.code() == Code::kForbidden) {
          return ReconcileResult::after(kNetworkBusyRetry);
        }
        return ReconcileResult::failed(s.with_prefix("removing network " + network));
      }
      spdlog::info("Environment {}: removed network {}", env.name(), network);
    } else if (!info.ok() && info.status().code() != Code::kNotFound) {
      return ReconcileResult::failed(info.status());
    }
  }
  auto removed = remove_runtime_images(*d.value(), options_.names, env.name(), env.uid(), {});
  if (!removed.ok()) return ReconcileResult::failed(removed.status());
  Object updated = env;
  remove_finalizer(updated, kCleanupFinalizer);
  auto written = client_.update(updated);
  if (!written.ok() && written.status().code() != Code::kNotFound) {
    return ReconcileResult::failed(written.status());
  }
  return ReconcileResult::done();
}

namespace {

// status.build: the last build the Environment asked for.
struct BuildRecord {
  std::string image;
  int attempt = 0;
  std::string result;  // Building, Succeeded, Failed, Cancelled
  std::string requested_at;
};

BuildRecord build_record(const Object& env) {
  BuildRecord r;
  const json::object* status = env.status_or_null();
  const json::value* b = status ? status->if_contains("build") : nullptr;
  if (!b || !b->is_object()) return r;
  const json::object& o = b->get_object();
  r.image = Object::str_field(o, "image");
  r.result = Object::str_field(o, "result");
  r.requested_at = Object::str_field(o, "requestedAt");
  if (const json::value* a = o.if_contains("attempt"); a && a->is_int64()) {
    r.attempt = static_cast<int>(a->as_int64());
  }
  return r;
}

json::object& build_status(Object& next) {
  json::value& b = next.status()["build"];
  if (!b.is_object()) b = json::object();
  return b.as_object();
}

// status.build of a build that ended, whole from the builder's own record: the cached object
// `next` was made from may predate the status written when the build started.
void record_build_end(Object& next, const ImageBuildProgress& progress, std::string_view result) {
  json::object& b = build_status(next);
  b["image"] = progress.tag;
  b["attempt"] = progress.attempt;
  b["result"] = result;
  b["startTime"] = format_rfc3339(progress.start);
  b["completionTime"] = format_rfc3339(progress.end);
  if (progress.requested_at.empty()) {
    b.erase("requestedAt");
  } else {
    b["requestedAt"] = progress.requested_at;
  }
}

std::string annotation(const Object& obj, std::string_view key) {
  const json::object* meta = obj.metadata_or_null();
  const json::value* a = meta ? meta->if_contains("annotations") : nullptr;
  if (!a || !a->is_object()) return "";
  return std::string(Object::str_field(a->get_object(), key));
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

// "building cenv-runtime/dev:0123 (build 3): Step 2/9 : RUN ...".
std::string building_message(const ImageBuildProgress& p) {
  std::string step = p.state == ImageBuildState::kQueued ? "waiting for a free build slot"
                     : p.step.empty()                    ? "starting"
                                                         : p.step;
  return "building " + p.tag + " (build " + std::to_string(p.attempt) + "): " + step;
}

// The failing step, Docker's message and the last lines of output.
std::string failed_message(const ImageBuildProgress& p) {
  std::string out = "build " + std::to_string(p.attempt) + " of " + p.tag + " failed";
  if (!p.step.empty()) out += " at " + p.step;
  out += ": " + p.error;
  if (!p.tail.empty()) out += "\nlast lines of output:\n" + join(p.tail, "\n");
  out +=
      "\n(the previous image keeps serving; `cenv logs env/NAME` has the whole output, "
      "`cenv env build NAME` tries again)";
  return out;
}

// A push that failed: the registry's refusal (naming spec.registry.credentialsSecret) or
// Docker's message.
std::string push_failed_message(const Object& env, const ImageBuildProgress& p) {
  std::string out =
      p.error_code == Code::kUnauthenticated
          ? registry_refusal_message(env, "push", p.push_reference, Status(p.error_code, p.error))
          : "pushing " + p.push_reference + " failed: " + p.error;
  return out + "\n(build " + std::to_string(p.attempt) + " made " + p.tag +
         "; the previous image keeps serving; a change to the Environment's spec or `cenv env "
         "build NAME` pushes again)";
}

}  // namespace

bool EnvironmentReconciler::made_for(const Object& env, const docker::NetworkInfo& info) const {
  return options_.names.owns(info.labels) &&
         label_value(info.labels, kLabelKind) == "Environment" &&
         label_value(info.labels, kLabelUid) == env.uid();
}

Status EnvironmentReconciler::retire_networks(docker::DockerClient& docker, const Object& env,
                                              bool swarm) {
  const std::string current = runtime_network(env, options_.names, swarm);
  const std::string other = runtime_network(env, options_.names, !swarm);
  std::vector<std::string> networks{current};
  if (other != current) networks.push_back(other);
  for (const std::string& name : networks) {
    auto info = docker.inspect_network(name);
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) continue;
      return info.status();
    }
    const bool stale = name != current || info->driver != (swarm ? "overlay" : "bridge");
    if (!stale || !made_for(env, *info)) continue;  // a network cenv did not make is never removed
    Status s = docker.remove_network(info->id);
    if (!s.ok() && s.code() != Code::kNotFound) {
      if (s.code() == Code::kUnavailable) return s;
      return Status::FailedPrecondition(
          "replacing network " + name + " (" + info->driver + ", spec.runtime " +
          (swarm ? "docker" : "swarm") + ") for spec.runtime " + (swarm ? "swarm" : "docker") +
          ": waiting for the old runtime's workloads to leave it (" + s.message() + ")");
    }
    spdlog::info("Environment {}: removed {} network {} of the runtime it switched from",
                 env.name(), info->driver, name);
  }
  return Status::Ok();
}

Status EnvironmentReconciler::sync_network(docker::DockerClient& docker, const Object& env,
                                           Object& next, bool& switching) {
  const int64_t gen = env.generation();
  std::string network = environment_network(env, options_.names);
  // Runtime swarm: an attachable overlay network, which only a swarm manager can create.
  const bool swarm = string_field(env.spec_or_null(), "runtime") == "swarm";
  const std::string driver = swarm ? "overlay" : "bridge";
  Status failure;
  std::string reason = "NetworkFailed";
  // The network of the runtime it switched from goes first.
  if (Status retired = retire_networks(docker, env, swarm); !retired.ok()) {
    failure = retired;
    if (retired.code() == Code::kFailedPrecondition) {
      reason = "RuntimeSwitching";
      switching = true;
    }
  }
  if (failure.ok() && swarm) {
    auto state = docker.swarm_state();
    if (!state.ok()) {
      failure = state.status();
    } else if (!state->manager()) {
      reason = "SwarmNotInitialised";
      failure = Status::FailedPrecondition(
          "spec.runtime is swarm but this Docker engine is not a swarm manager (swarm state " +
          (state->local_node_state.empty() ? std::string("inactive") : state->local_node_state) +
          (state->error.empty() ? "" : ": " + state->error) +
          "): run `docker swarm init` (or join it to a swarm as a manager), or set spec.runtime "
          "to docker");
    }
  }
  if (failure.ok()) {
    auto info = docker.inspect_network(network);
    if (!info.ok() && info.status().code() == Code::kNotFound) {
      docker::Labels labels =
          options_.names.labels("Environment", env.name(), env.name(), env.uid());
      auto created = docker.create_network(
          {.name = network, .driver = driver, .labels = labels, .attachable = true});
      if (created.ok() || created.status().code() == Code::kAlreadyExists) {
        spdlog::info("Environment {}: created {} network {}", env.name(), driver, network);
      } else {
        failure = created.status();
      }
    } else if (!info.ok()) {
      failure = info.status();
    } else if (swarm && info->driver != driver) {
      reason = "NetworkDriverMismatch";
      failure =
          Status::FailedPrecondition("is a " + info->driver +
                                     " network but spec.runtime swarm needs an overlay network: "
                                     "remove it (once nothing uses it) and cenv creates it again");
    }
  }
  if (failure.ok()) {
    set_condition(next, "NetworkReady", kConditionTrue, "NetworkExists",
                  "Docker network " + network + " exists" + (swarm ? " (overlay)" : ""), gen,
                  clock_.now());
  } else {
    set_condition(next, "NetworkReady", kConditionFalse,
                  failure.code() == Code::kUnavailable ? "DockerUnavailable" : reason,
                  reason == "SwarmNotInitialised" || switching
                      ? failure.message()
                      : "network " + network + ": " + failure.message(),
                  gen, clock_.now());
  }
  return failure;
}

Result<modules::BaseImage> EnvironmentReconciler::sync_base_image(docker::DockerClient& docker,
                                                                  const Object& env, Object& next) {
  const std::string image = base_image(env);
  auto present = docker.inspect_image(image);
  if (present.ok()) return modules::BaseImage{image, present->id};
  auto fail = [&](std::string_view reason, const Status& failure, const std::string& message) {
    set_condition(next, "ImageReady", kConditionFalse, reason, message, env.generation(),
                  clock_.now());
    return failure;
  };
  auto not_pulled = [&](std::string_view reason, const Status& failure) {
    return fail(reason, failure,
                "image " + image +
                    " is not present locally and could not be pulled (load it with "
                    "scripts/bootstrap-images or docker load): " +
                    failure.message());
  };
  if (present.status().code() != Code::kNotFound) {
    return not_pulled("DockerUnavailable", present.status());
  }
  auto auth = registry_auth(env, image, options_.secrets);
  if (!auth.ok()) {
    return fail("RegistryCredentialsInvalid", auth.status(),
                "cannot pull " + image + ": " + auth.status().message());
  }
  Status failure = docker.pull_image(image, *auth);
  if (failure.ok()) {
    spdlog::info("Environment {}: pulled {}{}", env.name(), image,
                 *auth ? " with the credentials of spec.registry" : "");
    auto again = docker.inspect_image(image);
    if (again.ok()) return modules::BaseImage{image, again->id};
    failure = again.status();
  }
  if (failure.code() == Code::kUnauthenticated) {
    return fail("RegistryUnauthorized", failure,
                registry_refusal_message(env, "pull", image, failure));
  }
  return not_pulled(failure.code() == Code::kNotFound ? "ImageNotFound" : "ImagePullFailed",
                    failure);
}

void EnvironmentReconciler::use_image(docker::DockerClient& docker, const Object& env, Object& next,
                                      const std::string& image,
                                      const std::vector<std::string>& modules) {
  const json::object* status = env.status_or_null();
  const std::string previous(status ? Object::str_field(*status, "image") : "");
  next.status()["image"] = image;
  if (modules.empty()) {
    next.status().erase("modules");
  } else {
    json::array list;
    for (const std::string& m : modules) list.emplace_back(m);
    next.status()["modules"] = std::move(list);
  }
  if (previous.empty() || previous == image) return;
  spdlog::info("Environment {}: switched from {} to {}", env.name(), previous, image);
  // The image in use and the previous one stay (Services roll from one to the other).
  auto removed =
      remove_runtime_images(docker, options_.names, env.name(), env.uid(), {image, previous});
  if (!removed.ok()) {
    spdlog::warn("Environment {}: removing old runtime images: {}", env.name(),
                 removed.status().message());
  }
}

Status EnvironmentReconciler::start_build(const Object& env, Object& next, const RuntimeImage& plan,
                                          const std::string& requested_at, bool build,
                                          std::string push_reference,
                                          std::optional<docker::RegistryAuth> push_auth) {
  std::string context;
  if (build) {
    auto tar = modules::write_tar(plan.recipe.context(), false);
    if (!tar.ok()) return tar.status().with_prefix("build context of " + plan.reference);
    context = std::move(tar).value();
  }
  const std::string uid(env.uid());
  int attempt = build_record(env).attempt;
  if (auto p = builder_.progress(uid)) attempt = std::max(attempt, p->attempt);
  ++attempt;
  ImageBuildRequest request{.uid = uid,
                            .name = std::string(env.name()),
                            .tag = plan.reference,
                            .attempt = attempt,
                            .requested_at = requested_at,
                            .context_tar = std::move(context),
                            .labels = plan.labels,
                            .build = build,
                            .push_reference = std::move(push_reference),
                            .push_auth = std::move(push_auth),
                            .generation = env.generation()};
  if (!builder_.start(std::move(request))) return Status::Unavailable("the controller is stopping");
  json::object& b = build_status(next);
  b = json::object{{"image", plan.reference},
                   {"attempt", attempt},
                   {"result", "Building"},
                   {"startTime", format_rfc3339(clock_.now())}};
  if (!requested_at.empty()) b["requestedAt"] = requested_at;
  return Status::Ok();
}

namespace {

// status.observedModules: each Module (name and generation) the conditions of this reconcile
// took into account, so that a client that changed a Module can tell a condition about the new
// spec from one written before the controller saw it (`cenv apply --wait`).
void record_observed_modules(const std::vector<ObjectPtr>& modules, Object& next) {
  if (modules.empty()) {
    next.status().erase("observedModules");
    return;
  }
  json::array seen;
  for (const ObjectPtr& m : modules) {
    seen.emplace_back(json::object{{"name", m->name()}, {"generation", m->generation()}});
  }
  next.status()["observedModules"] = std::move(seen);
}

}  // namespace

struct EnvironmentReconciler::ImageOutcome {
  enum class Kind { kReady, kBuilding, kFailed };
  Kind kind = Kind::kFailed;
  Status failure;  // retried with back-off (Docker, a source that did not answer)
};

EnvironmentReconciler::ImageOutcome EnvironmentReconciler::sync_runtime_image(
    docker::DockerClient& docker, const Object& env, const modules::BaseImage& base, Object& next) {
  using Kind = ImageOutcome::Kind;
  const int64_t gen = env.generation();
  const auto now = clock_.now();
  const std::string uid(env.uid());
  auto image_condition = [&](std::string_view status, std::string_view reason,
                             const std::string& message) {
    set_condition(next, "ImageReady", status, reason, message, gen, now);
  };
  // Inputs that cannot make an image: no build runs for them.
  auto invalid = [&](std::string_view reason, const Status& why, bool resolved) {
    (void)builder_.cancel(uid);
    if (!resolved)
      set_condition(next, "Resolved", kConditionFalse, reason, why.message(), gen, now);
    image_condition(kConditionFalse, reason, why.message());
    return ImageOutcome{Kind::kFailed, why.code() == Code::kUnavailable ? why : Status::Ok()};
  };

  // Observe: the Modules, fetched and resolved, and the image they make.
  std::vector<ObjectPtr> modules = modules_.list(env.name());
  std::erase_if(modules, [](const ObjectPtr& m) { return is_being_deleted(*m); });
  record_observed_modules(modules, next);
  if (!modules.empty() && !options_.modules) {
    return invalid("ModulesUnavailable",
                   Status::FailedPrecondition("this controller cannot fetch Modules"), false);
  }
  Result<ResolvedModules> resolved = modules.empty()
                                         ? Result<ResolvedModules>(ResolvedModules{})
                                         : resolve_environment_modules(modules, *options_.modules);
  if (!resolved.ok()) return invalid("ModulesInvalid", resolved.status(), false);
  set_condition(next, "Resolved", kConditionTrue, "Resolved",
                resolved->installed.empty() ? std::string("no modules")
                                            : "install order: " + join(resolved->installed, ", "),
                gen, now);
  auto plan = plan_runtime_image(env, base, *resolved, options_.names);
  if (!plan.ok()) return invalid("ModulesInvalid", plan.status(), true);
  if (!plan->needs_build) {
    (void)builder_.cancel(uid);
    use_image(docker, env, next, plan->reference, {});
    next.status().erase("pushedImage");  // nothing is built, so nothing is pushed
    image_condition(kConditionTrue, "ImagePresent",
                    "image " + plan->reference + " is present (no modules: the base image)");
    return {Kind::kReady, Status::Ok()};
  }
  const std::string& tag = plan->reference;
  auto exists = docker.inspect_image(tag);
  if (!exists.ok() && exists.status().code() != Code::kNotFound) {
    image_condition(kConditionUnknown, "DockerUnavailable",
                    "cannot check image " + tag + ": " + exists.status().message());
    return {Kind::kFailed, exists.status()};
  }
  const std::string requested_at = annotation(env, kBuildRequestedAtAnnotation);
  const BuildRecord record = build_record(env);
  const std::optional<ImageBuildProgress> progress = builder_.progress(uid);

  // With spec.registry.push the image serves once pushed, as <server>/<tag>.
  const auto registry = environment_registry(env);
  const std::string push_ref = registry && registry->push ? pushed_reference(*registry, tag) : "";
  const bool pushed = !push_ref.empty() && env.status_or_null() &&
                      Object::str_field(*env.status_or_null(), "pushedImage") == push_ref;

  // Decide, then act and report.
  auto ready = [&] {
    use_image(docker, env, next, push_ref.empty() ? tag : push_ref, resolved->installed);
    if (push_ref.empty()) {
      next.status().erase("pushedImage");
    } else {
      next.status()["pushedImage"] = push_ref;
    }
    image_condition(kConditionTrue, "ImageBuilt",
                    "image " + tag + " is present (" + std::to_string(resolved->installed.size()) +
                        " modules)" + (push_ref.empty() ? "" : ", pushed as " + push_ref));
    return ImageOutcome{Kind::kReady, Status::Ok()};
  };
  if (progress && progress->tag == tag && progress->requested_at == requested_at &&
      progress->push_reference == push_ref) {
    switch (progress->state) {
      case ImageBuildState::kQueued:
      case ImageBuildState::kRunning:
        image_condition(kConditionFalse, "Building", building_message(*progress));
        return {Kind::kBuilding, Status::Ok()};
      case ImageBuildState::kFailed: {
        record_build_end(next, *progress, "Failed");
        if (progress->push_failed) {
          // Tried again once the spec changed (new credentials) or `cenv env build`.
          if (progress->generation != gen) break;
          const bool refused = progress->error_code == Code::kUnauthenticated;
          image_condition(kConditionFalse, refused ? "RegistryUnauthorized" : "PushFailed",
                          push_failed_message(env, *progress));
          return {Kind::kFailed, Status::Ok()};
        }
        // A package apt-get does not know is the module's mistake, named as its field.
        auto apt = modules::explain_apt_failure(resolved->resolution, progress->tail);
        image_condition(kConditionFalse, apt ? "PackageNotFound" : "BuildFailed",
                        apt ? *apt + "\n" + failed_message(*progress) : failed_message(*progress));
        return {Kind::kFailed, Status::Ok()};
      }
      case ImageBuildState::kSucceeded:
        if (!exists.ok()) break;  // removed meanwhile: build again
        record_build_end(next, *progress, "Succeeded");
        return ready();
      case ImageBuildState::kCancelled:
        break;
    }
  }
  const bool build = !exists.ok() || record.requested_at != requested_at;
  if (!build && (push_ref.empty() || pushed)) return ready();
  if (!exists.ok() && record.image == tag && record.result == "Failed" &&
      record.requested_at == requested_at) {
    // Failed before (this controller's earlier life): no retry until the inputs or the
    // annotation change. The condition written then keeps its message.
    auto was = get_condition(env, "ImageReady");
    if (!was || (was->reason != "BuildFailed" && was->reason != "PackageNotFound")) {
      image_condition(kConditionFalse, "BuildFailed",
                      "build " + std::to_string(record.attempt) + " of " + tag + " failed");
    }
    return {Kind::kFailed, Status::Ok()};
  }
  std::optional<docker::RegistryAuth> push_auth;
  if (!push_ref.empty()) {
    auto auth = registry_auth(env, push_ref, options_.secrets);
    if (!auth.ok()) {
      image_condition(kConditionFalse, "RegistryCredentialsInvalid",
                      "cannot push " + push_ref + ": " + auth.status().message());
      return {Kind::kFailed, Status::Ok()};
    }
    push_auth = std::move(auth).value();
  }
  if (Status s = start_build(env, next, *plan, requested_at, build, push_ref, std::move(push_auth));
      !s.ok()) {
    image_condition(kConditionFalse, "BuildFailed", s.message());
    return {Kind::kFailed, s};
  }
  auto started = builder_.progress(uid);
  image_condition(kConditionFalse, "Building",
                  started ? building_message(*started) : "building " + tag);
  return {Kind::kBuilding, Status::Ok()};
}

ReconcileResult EnvironmentReconciler::reconcile(const Request& req) {
  if (!req.ns.empty()) {
    // Docker's events name an Environment's containers (its image builds' too) by their
    // labels, namespace included; one key per Environment keeps its reconciles apart from
    // each other.
    std::function<void(const Request&)> notify;
    {
      std::lock_guard lock(mu_);
      notify = notify_;
    }
    if (notify) notify(Request{req.kind, "", req.name});
    return ReconcileResult::done();
  }
  ObjectPtr cached = environments_.get("", req.name);
  if (!cached) return ReconcileResult::done();
  const Object& env = *cached;
  if (is_being_deleted(env)) return finalize(env);
  if (!has_finalizer(env, kCleanupFinalizer)) {
    Object updated = env;
    add_finalizer(updated, kCleanupFinalizer);
    auto written = client_.update(updated);
    // The update comes back through the informer and enqueues the key again.
    if (written.ok()) return ReconcileResult::done();
    // A stale cache (the finalizer may already be there): look again once it caught up.
    if (written.status().code() == Code::kConflict) return {true, {}, Status::Ok()};
    return ReconcileResult::failed(written.status());
  }

  // Observe and act: network, base image, runtime image (each sets its conditions).
  Object next = env;
  const int64_t gen = env.generation();
  const auto now = clock_.now();
  Status failure;
  bool network_ready = false;
  bool switching = false;  // waiting for the old runtime's network to be free
  ImageOutcome image;
  auto d = docker_.client();
  if (!d.ok()) {
    failure = d.status();
    std::string msg = "cannot reach Docker: " + d.status().message();
    set_condition(next, "NetworkReady", kConditionUnknown, "DockerUnavailable", msg, gen, now);
    set_condition(next, "ImageReady", kConditionUnknown, "DockerUnavailable", msg, gen, now);
  } else {
    Status net = sync_network(*d.value(), env, next, switching);
    network_ready = net.ok();
    if (!switching) failure = net;  // not a failure: looked at again shortly
    auto base = sync_base_image(*d.value(), env, next);
    if (base.ok()) {
      image = sync_runtime_image(*d.value(), env, *base, next);
    } else if (base.status().code() != Code::kUnauthenticated &&
               base.status().code() != Code::kInvalid) {
      image.failure = base.status();  // retried with back-off
    }  // credentials refused or unusable: Stalled until the spec changes
    if (failure.ok()) failure = image.failure;
  }

  report_secrets(env, next, options_.secrets, gen, now);

  // Report: phase and Ready from the conditions.
  const bool image_ready = image.kind == ImageOutcome::Kind::kReady;
  const bool building = image.kind == ImageOutcome::Kind::kBuilding;
  json::object& status = next.status();
  // Docker unreachable (Pending), as opposed to failing (Failed).
  auto unreachable = [&](std::string_view type) {
    auto c = get_condition(next, type);
    return c && c->status != kConditionTrue && c->reason == "DockerUnavailable";
  };
  const bool docker_down = !d.ok() || unreachable("NetworkReady") || unreachable("ImageReady");
  const bool ready = network_ready && image_ready;
  status["phase"] = ready                       ? "Ready"
                    : docker_down || switching  ? "Pending"
                    : network_ready && building ? "Building"
                                                : "Failed";
  // Stalled (as kstatus and Flux name it): an image that is not retried until the inputs
  // change, so that a waiting client stops at once instead of at its timeout.
  if (image.kind == ImageOutcome::Kind::kFailed && image.failure.ok() && d.ok()) {
    auto cond = get_condition(next, "ImageReady");
    set_condition(next, "Stalled", kConditionTrue, cond ? cond->reason : "ImageFailed",
                  cond ? cond->message : "the runtime image cannot be made", gen, now);
  } else {
    remove_condition(next, "Stalled");
  }
  if (ready) {
    set_condition(next, "Ready", kConditionTrue, "Ready", "network and image are ready", gen, now);
  } else {
    auto cond = get_condition(next, network_ready ? "ImageReady" : "NetworkReady");
    set_condition(next, "Ready", kConditionFalse, cond ? cond->reason : "NotReady",
                  cond ? cond->message : failure.message(), gen, now);
  }
  set_observed_generation(next);
  if (!(next == env)) {
    auto written = client_.update_status(next);
    // A stale cache (a build's notice came before this reconciler's last write reached the
    // informer): look again once it caught up, without a back-off that would delay a switch.
    if (!written.ok() && written.status().code() == Code::kConflict) {
      return ReconcileResult::after(kStaleCacheRetry);
    }
    if (!written.ok()) return ReconcileResult::failed(written.status());
  }
  if (!failure.ok()) {
    return ReconcileResult::failed(failure.with_prefix("Environment " + std::string(env.name())));
  }
  if (switching) return ReconcileResult::after(kNetworkBusyRetry);
  // Look again now and then: a network removed outside cenv is not in Docker's container
  // events, and Services cannot start without it. A build tells us when it moves on.
  return ReconcileResult::after(options_.recheck_interval);
}

}  // namespace cenv
