#pragma once
// EnvironmentReconciler (DESIGN sections 2 and 6): keeps an Environment's Docker network
// (spec.network, else cenv-<name>) and checks its base image is present (pulled when a
// registry answers), then publishes status.image (the base image, until Modules build on it),
// status.phase and the conditions NetworkReady, ImageReady and Ready. The finalizer
// cenv.io/cleanup removes the network cenv created once the Environment is deleted (after its
// Services' containers left it; a container this instance made for an object of the namespace
// that is gone already is removed); a network cenv did not create (no io.cenv labels) is used
// but never removed. Docker down: conditions say so and the key is retried with back-off.

#include <chrono>

#include "api/clock.h"
#include "controller/runtime/client.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"

namespace cenv {

struct EnvironmentReconcilerOptions {
  // Names and labels of the networks created. Default: the default instance.
  DockerNames names{};
  // How often a Ready Environment checks its network and image again. Default 30 s.
  std::chrono::milliseconds recheck_interval{30'000};
};

class EnvironmentReconciler final : public Reconciler {
 public:
  // `environments` is the Environment informer (reads); writes go through `client`. Every
  // reference must outlive the reconciler.
  EnvironmentReconciler(Informer& environments, Client& client, DockerConnection& docker,
                        const Clock& clock, EnvironmentReconcilerOptions options = {});

  ReconcileResult reconcile(const Request& req) override;

 private:
  ReconcileResult finalize(const Object& env);
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
};

}  // namespace cenv
