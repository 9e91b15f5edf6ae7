#pragma once
// SwarmBed: a ReconcilerBed (reconciler_bed.h) whose Environment has spec.runtime swarm, on a
// single-node swarm the SwarmGuard makes when the engine is in none. At the end the
// Environment is deleted (its finalizer removes the overlay network once the tasks left it),
// the swarm services labelled with the run id are removed, then the rest of the run's Docker
// objects, and last the swarm is left when the guard made it.

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>

#include "reconcilers/docker_names.h"
#include "test/integration/reconcilers/reconciler_bed.h"
#include "test/swarm_guard.h"

namespace cenv::testing {

// Removes the swarm services labelled `label` (before the containers' and networks' cleanup).
class ServiceCleanup {
 public:
  ServiceCleanup(docker::DockerClient& docker, std::string label)
      : docker_(docker), label_(std::move(label)) {}
  ~ServiceCleanup() {
    auto services = docker_.list_services({label_});
    if (!services.ok()) return;
    for (const auto& s : services.value()) (void)docker_.remove_service(s.id);
  }

 private:
  docker::DockerClient& docker_;
  const std::string label_;
};

// Constructed before (and destroyed after) the bed: the swarm outlives everything on it.
struct SwarmHold {
  SwarmGuard swarm;
};

struct SwarmBed : SwarmHold, ReconcilerBed {
  SwarmBed()
      : ReconcilerBed("sw", boost::json::object{{"runtime", "swarm"}}),
        services(*docker, std::string(kTestRunLabel) + "=" + run_id) {}
  ~SwarmBed() {
    (void)f.client->remove({"Environment", "", ns}, {});
    (void)eventually([&] { return get("Environment", "", ns).name().empty(); },
                     std::chrono::seconds(60));
  }
  // The running tasks' containers of swarm service `name` (a Docker name).
  std::set<std::string> running_tasks_of(const std::string& name) {
    std::set<std::string> out;
    auto s = docker->inspect_service(name);
    if (!s.ok()) return out;
    auto tasks = docker->list_tasks(s->id);
    if (!tasks.ok()) return out;
    for (const auto& t : tasks.value()) {
      if (t.state == "running" && t.desired_state == "running") out.insert(t.container_id);
    }
    return out;
  }
  // The swarm services of this run's instance labelled as `kind` `name` in `ns`.
  std::vector<docker::SwarmServiceInfo> services_of(const std::string& kind,
                                                    const std::string& name) {
    auto l = docker->list_services(names.filters(kind, ns, name));
    return l.ok() ? l.value() : std::vector<docker::SwarmServiceInfo>{};
  }

  ServiceCleanup services;  // destroyed before the bed's DockerCleanup
};

}  // namespace cenv::testing
