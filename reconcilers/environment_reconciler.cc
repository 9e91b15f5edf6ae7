#include "reconcilers/environment_reconciler.h"

#include <spdlog/spdlog.h>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;

namespace {

constexpr std::string_view kDefaultBaseImage = "cenv/base:bookworm";

// Cleanup waits for the Services' containers to leave the network.
constexpr std::chrono::milliseconds kNetworkBusyRetry{1000};

std::string base_image(const Object& env) {
  const json::object* spec = env.spec_or_null();
  std::string_view image = spec ? Object::str_field(*spec, "baseImage") : "";
  return image.empty() ? std::string(kDefaultBaseImage) : std::string(image);
}

}  // namespace

EnvironmentReconciler::EnvironmentReconciler(Informer& environments, Client& client,
                                             DockerConnection& docker, const Clock& clock,
                                             EnvironmentReconcilerOptions options)
    : environments_(environments),
      client_(client),
      docker_(docker),
      clock_(clock),
      options_(std::move(options)) {}

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
  auto d = docker_.client();
  if (!d.ok()) return ReconcileResult::failed(d.status());
  std::string network = environment_network(env, options_.names);
  auto info = d.value()->inspect_network(network);
  // Only the network cenv created for this very Environment (its uid); never a user's own,
  // nor one another controller sharing dockerd created for its Environment of this name.
  if (info.ok() && options_.names.owns(info->labels) &&
      label_value(info->labels, kLabelKind) == "Environment" &&
      label_value(info->labels, kLabelUid) == env.uid()) {
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
  Object updated = env;
  remove_finalizer(updated, kCleanupFinalizer);
  auto written = client_.update(updated);
  if (!written.ok() && written.status().code() != Code::kNotFound) {
    return ReconcileResult::failed(written.status());
  }
  return ReconcileResult::done();
}

ReconcileResult EnvironmentReconciler::reconcile(const Request& req) {
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

  Object next = env;
  const int64_t gen = env.generation();
  const auto now = clock_.now();
  Status failure;
  bool network_ready = false, image_ready = false;
  bool docker_down = false;  // Docker unreachable (Pending), as opposed to failing (Failed)
  std::string network = environment_network(env, options_.names);
  std::string image = base_image(env);

  auto d = docker_.client();
  if (!d.ok()) {
    failure = d.status();
    docker_down = true;
    std::string msg = "cannot reach Docker: " + d.status().message();
    set_condition(next, "NetworkReady", kConditionUnknown, "DockerUnavailable", msg, gen, now);
    set_condition(next, "ImageReady", kConditionUnknown, "DockerUnavailable", msg, gen, now);
  } else {
    docker::DockerClient& docker = *d.value();
    auto info = docker.inspect_network(network);
    if (!info.ok() && info.status().code() == Code::kNotFound) {
      docker::Labels labels =
          options_.names.labels("Environment", env.name(), env.name(), env.uid());
      auto created = docker.create_network({.name = network, .labels = labels});
      if (created.ok() || created.status().code() == Code::kAlreadyExists) {
        spdlog::info("Environment {}: created network {}", env.name(), network);
        network_ready = true;
      } else {
        failure = created.status();
      }
    } else if (!info.ok()) {
      failure = info.status();
    } else {
      network_ready = true;
    }
    if (network_ready) {
      set_condition(next, "NetworkReady", kConditionTrue, "NetworkExists",
                    "Docker network " + network + " exists", gen, now);
    } else {
      set_condition(next, "NetworkReady", kConditionFalse,
                    failure.code() == Code::kUnavailable ? "DockerUnavailable" : "NetworkFailed",
                    "network " + network + ": " + failure.message(), gen, now);
    }

    if (!failure.ok() && failure.code() == Code::kUnavailable) docker_down = true;
    auto present = docker.inspect_image(image);
    Status image_status = present.ok() ? Status::Ok() : present.status();
    bool pulled = false;
    if (!present.ok() && present.status().code() == Code::kNotFound) {
      pulled = true;
      image_status = docker.pull_image(image);
      if (image_status.ok()) spdlog::info("Environment {}: pulled {}", env.name(), image);
    } else if (!present.ok() && present.status().code() == Code::kUnavailable) {
      docker_down = true;
    }
    if (image_status.ok()) {
      image_ready = true;
      set_condition(next, "ImageReady", kConditionTrue, "ImagePresent",
                    "image " + image + " is present", gen, now);
    } else {
      if (failure.ok()) failure = image_status;
      std::string reason = !pulled                                  ? "DockerUnavailable"
                           : image_status.code() == Code::kNotFound ? "ImageNotFound"
                                                                    : "ImagePullFailed";
      set_condition(next, "ImageReady", kConditionFalse, reason,
                    "image " + image +
                        " is not present locally and could not be pulled (load it with "
                        "scripts/bootstrap-images or docker load): " +
                        image_status.message(),
                    gen, now);
    }
  }

  json::object& status = next.status();
  if (image_ready) {
    status["image"] = image;
  } else {
    status.erase("image");
  }
  bool ready = network_ready && image_ready;
  status["phase"] = ready ? "Ready" : docker_down ? "Pending" : "Failed";
  if (ready) {
    set_condition(next, "Ready", kConditionTrue, "Ready", "network and image are ready", gen, now);
  } else {
    auto cond = get_condition(next, image_ready ? "NetworkReady" : "ImageReady");
    set_condition(next, "Ready", kConditionFalse, cond ? cond->reason : "NotReady",
                  cond ? cond->message : failure.message(), gen, now);
  }
  set_observed_generation(next);
  if (!(next == env)) {
    auto written = client_.update_status(next);
    if (!written.ok()) return ReconcileResult::failed(written.status());
  }
  if (!failure.ok()) {
    return ReconcileResult::failed(failure.with_prefix("Environment " + std::string(env.name())));
  }
  // Look again now and then: a network removed outside cenv is not in Docker's container
  // events, and Services cannot start without it.
  return ReconcileResult::after(options_.recheck_interval);
}

}  // namespace cenv
