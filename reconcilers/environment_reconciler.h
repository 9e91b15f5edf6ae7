#pragma once
// EnvironmentReconciler (DESIGN sections 2 and 6): keeps an Environment's Docker network
// (spec.network, else cenv-<name>) and checks its base image is present (pulled when a
// registry answers), then its runtime image: the base image plus every Module of its namespace
// (runtime_image.h), built in the background (RuntimeImageBuilder) when no image has its
// content-addressed tag yet. Each reconcile moves one step:
//  * observe: network, base image, the Modules (fetched and resolved), the runtime image's tag
//    and whether Docker has it, the Environment's build in progress;
//  * decide: use the image (no modules: the base image itself, no build), wait for the build,
//    start one, or report why not (ModulesInvalid, BuildFailed, PackageNotFound);
//  * act: start or cancel the build; after a switch, remove the Environment's runtime images
//    but the one in use and the previous one;
//  * report: status.image and status.modules (name@revision) only once the image exists, so a
//    failed build keeps the previous image serving; status.build (the last build asked for:
//    image, attempt, result, requestedAt); status.phase Building while it builds; conditions
//    NetworkReady, Resolved, ImageReady (reason Building with the current step, BuildFailed
//    with the failing step and the last lines of output, PackageNotFound naming the module's
//    requires.apt entry apt-get refused), Ready, and Stalled (True while the image is not
//    retried until its inputs change); status.observedModules (each Module's generation these
//    conditions took into account).
// A failed build is not retried until its inputs change or the annotation
// cenv.io/build-requested-at changes (`cenv env build`), which also rebuilds an image that
// exists (through Docker's layer cache). spec.runtime switched between docker (a bridge
// network) and swarm (an attachable overlay network): the network of the old runtime is
// removed once the Services and CommandRuns took their workloads off it, and the new one
// created; meanwhile NetworkReady is False, reason RuntimeSwitching, and the Environment
// Pending. The finalizer cenv.io/cleanup cancels the build,
// removes the network cenv created once the Environment is deleted (after its Services'
// containers left it; a container this instance made for an object of the namespace that is
// gone already is removed) and the Environment's runtime images; a network cenv did not create
// (no io.cenv labels) is used but never removed. Docker down: conditions say so and the key is
// retried with back-off.
// spec.registry (environment_registry.h): a base image on that registry is pulled with the
// credentials of spec.registry.credentialsSecret; a refused pull is ImageReady=False with reason
// RegistryUnauthorized (RegistryCredentialsInvalid when the secret is not username:password)
// and Stalled, checked again at each recheck and on a spec change. With spec.registry.push a
// runtime image serves only once pushed as <server>/<tag> (status.image and
// status.pushedImage); a refused or failed push (RegistryUnauthorized, PushFailed) keeps the
// previous image, Stalled, and is tried again (without a rebuild) when the spec's generation
// changes or on cenv.io/build-requested-at.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "api/annotations.h"
#include "api/clock.h"
#include "api/environment_secrets.h"
#include "controller/runtime/client.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "controller/store/log_hub.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/module_fetcher.h"
#include "reconcilers/runtime_image.h"
#include "reconcilers/runtime_image_builder.h"

namespace cenv {

struct EnvironmentReconcilerOptions {
  // Names and labels of the networks created. Default: the default instance.
  DockerNames names{};
  // How often a Ready Environment checks its network and image again. Default 30 s.
  std::chrono::milliseconds recheck_interval{30'000};
  // Where Modules' files come from; nullptr (default): an Environment with Modules reports
  // that this controller cannot fetch them. Must outlive the reconciler.
  ModuleFetcher* modules = nullptr;
  // Where build output is stored; nullptr (default): not stored. Must outlive the reconciler.
  LogHub* logs = nullptr;
  // Parallel builds, progress throttling (runtime_image_builder.h for the defaults).
  RuntimeImageBuilderOptions builds{};
  // Checks that spec.secrets open (condition SecretsReady) and opens the registry credentials
  // (spec.registry.credentialsSecret); nullptr (default): every Environment with secrets says
  // it cannot open them. Must outlive the reconciler.
  const SecretOpener* secrets = nullptr;
};

class EnvironmentReconciler final : public Reconciler {
 public:
  // `environments` and `modules` are the Environment and Module informers (reads); writes go
  // through `client`. Every reference must outlive the reconciler.
  EnvironmentReconciler(Informer& environments, Informer& modules, Client& client,
                        DockerConnection& docker, const Clock& clock,
                        EnvironmentReconcilerOptions options = {});

  ReconcileResult reconcile(const Request& req) override;

  // Called (on a build's thread) with the Environment's request when its build made progress
  // or ended; the controller's enqueue. Set before the first reconcile.
  void set_notify(std::function<void(const Request&)> notify);
  // Cancels the builds when the manager stops (RuntimeImageBuilder::stopper()).
  std::unique_ptr<Runnable> stopper() { return builder_.stopper(); }

 private:
  struct ImageOutcome;
  ReconcileResult finalize(const Object& env);
  // Ensures the network; sets NetworkReady. The failure, if any. `switching` is set while a
  // network of the other runtime waits to be removed (its workloads are still on it).
  Status sync_network(docker::DockerClient& docker, const Object& env, Object& next,
                      bool& switching);
  // Removes the networks cenv made for `env` that its runtime no longer uses (the other
  // runtime's name, or its own name with the other driver). Ok when there are none left;
  // FailedPrecondition (with Docker's message) while one is still in use.
  Status retire_networks(docker::DockerClient& docker, const Object& env, bool swarm);
  // Whether `info` is a network this instance made for this very Environment (its uid).
  bool made_for(const Object& env, const docker::NetworkInfo& info) const;
  // Ensures the base image is present (pulled when missing); sets ImageReady on failure.
  Result<modules::BaseImage> sync_base_image(docker::DockerClient& docker, const Object& env,
                                             Object& next);
  // The runtime image step: observe, decide, act; sets Resolved, ImageReady, status.image,
  // status.modules and status.build in `next`.
  ImageOutcome sync_runtime_image(docker::DockerClient& docker, const Object& env,
                                  const modules::BaseImage& base, Object& next);
  // The Environment uses `image` now: status.image, status.modules; removes older runtime
  // images after a switch.
  void use_image(docker::DockerClient& docker, const Object& env, Object& next,
                 const std::string& image, const std::vector<std::string>& modules);
  // Starts a build of `plan` (attempt status.build.attempt + 1) and records it; without
  // `build` the image exists and is only pushed. A non-empty `push_reference`: pushed there
  // with `push_auth` once built.
  Status start_build(const Object& env, Object& next, const RuntimeImage& plan,
                     const std::string& requested_at, bool build, std::string push_reference,
                     std::optional<docker::RegistryAuth> push_auth);
  // Removes the containers on `network` that this instance created for objects of env's
  // namespace which no longer exist. True when nothing else is left on the network (all
  // removed, or gone already).
  bool remove_orphans(docker::DockerClient& d, const Object& env,
                      const docker::NetworkInfo& network);

  Informer& environments_;
  Client& client_;
  DockerConnection& docker_;
  const Clock& clock_;
  const EnvironmentReconcilerOptions options_;
  Informer& modules_;
  RuntimeImageBuilder builder_;
  std::mutex mu_;
  std::function<void(const Request&)> notify_;  // guarded by mu_
};

}  // namespace cenv
