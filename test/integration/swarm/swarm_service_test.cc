// The Service reconciler on a real single-node Docker Swarm (Environment.spec.runtime: swarm),
// in process: a 3-replica Service runs 3 tasks, scales to 1 and back, heals a killed task and
// is removed on delete. The test makes the swarm (`docker swarm init --advertise-addr
// 127.0.0.1`) only when the engine is not in one already, and then leaves it at the end
// (`docker swarm leave --force`); a swarm it found is left as it was. Everything it creates
// carries cenv-test-run=<id> and its own cenv instance, and is removed at the end.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <set>

#include "api/conditions.h"
#include "controller/app/reconciler_set.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/service_spec.h"
#include "test/integration/reconcilers/docker_test_env.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::eventually;

// Makes the engine a single-node swarm for the test's life, unless it is in one already.
class SwarmGuard {
 public:
  explicit SwarmGuard(docker::DockerClient& docker) {
    auto state = docker.swarm_state();
    REQUIRE(state.ok());
    if (state->local_node_state == "active") {
      if (!state->control_available) FAIL("this engine is a swarm worker, not a manager");
      return;
    }
    INFO("swarm state " << state->local_node_state);
    REQUIRE(std::system("docker swarm init --advertise-addr 127.0.0.1 >/dev/null") == 0);
    made_ = true;
  }
  ~SwarmGuard() {
    if (made_ && std::system("docker swarm leave --force >/dev/null") != 0) {
      WARN("docker swarm leave --force failed");
    }
  }

 private:
  bool made_ = false;
};

// Removes the swarm services labelled with the run id (before the containers' cleanup).
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

struct SwarmBed {
  SwarmBed()
      : run_id(testing::new_run_id()),
        ns("sw-" + run_id),
        names("sw-" + run_id, {{testing::kTestRunLabel, run_id}}),
        docker(testing::connect_docker()),
        swarm(*docker),
        cleanup(*docker, run_id, ns),
        services(*docker, std::string(testing::kTestRunLabel) + "=" + run_id),
        connection(*docker) {
    ReconcilerSetOptions o;
    o.names = names;
    o.workloads.stop_timeout_seconds = 2;
    auto s = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    set = std::move(s.value());
    f.create("Environment", "", ns, boost::json::object{{"runtime", "swarm"}});
    REQUIRE(eventually([&] { return condition("Environment", "", ns, "Ready") == "True"; },
                       std::chrono::seconds(60)));
  }
  ~SwarmBed() {
    // The Environment's finalizer removes its overlay network once the tasks left it.
    (void)f.client->remove({"Environment", "", ns}, {});
    (void)eventually([&] { return get("Environment", "", ns).name().empty(); },
                     std::chrono::seconds(60));
    if (set) set->stop();
  }
  Object get(const std::string& kind, const std::string& ns_, const std::string& name) {
    auto o = f.client->get({kind, ns_, name});
    return o.ok() ? o.value() : Object();
  }
  std::string condition(const std::string& kind, const std::string& ns_, const std::string& name,
                        std::string_view type) {
    auto c = get_condition(get(kind, ns_, name), type);
    return c ? c->status : "";
  }
  int64_t status_int(const std::string& name, std::string_view field) {
    Object o = get("Service", ns, name);
    const auto* v = o.status_or_null() ? o.status_or_null()->if_contains(field) : nullptr;
    return v && v->is_number() ? v->to_number<int64_t>() : -1;
  }
  // The running tasks' containers of the Service's swarm service.
  std::set<std::string> running_tasks(const std::string& name) {
    std::set<std::string> out;
    auto s = docker->inspect_service(swarm_name(names.container(ns, name)));
    if (!s.ok()) return out;
    auto tasks = docker->list_tasks(s->id);
    if (!tasks.ok()) return out;
    for (const auto& t : tasks.value()) {
      if (t.state == "running" && t.desired_state == "running") out.insert(t.container_id);
    }
    return out;
  }
  // Ready, with `n` replicas running by the status and by the swarm.
  bool runs(const std::string& name, size_t n) {
    return condition("Service", ns, name, "Ready") == "True" &&
           status_int(name, "readyReplicas") == static_cast<int64_t>(n) &&
           running_tasks(name).size() == n;
  }
  void set_replicas(const std::string& name, int replicas) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      Object o = get("Service", ns, name);
      o.spec()["replicas"] = replicas;
      auto written = f.client->update(o);
      if (written.ok()) return;
      REQUIRE(written.status().code() == Code::kConflict);
    }
    FAIL("could not update Service " << name);
  }

  testing::ApiFixture f;
  std::string run_id;
  std::string ns;
  DockerNames names;
  std::unique_ptr<docker::EngineDockerClient> docker;
  SwarmGuard swarm;                 // destroyed last: leaves a swarm it made
  testing::DockerCleanup cleanup;   // containers, networks, volumes of the run
  ServiceCleanup services;          // destroyed before `cleanup`
  DockerConnection connection;
  std::unique_ptr<ReconcilerSet> set;
};

TEST_CASE("integration swarm: a 3-replica Service runs 3 tasks - scales to 1 and back - heals a "
          "killed task - is removed on delete",
          "[integration][reconcilers][swarm]") {
  SwarmBed bed;
  // Exits at once on SIGTERM, so scaling down and removal are fast.
  bed.f.create("Service", bed.ns, "web",
               boost::json::object{
                   {"replicas", 3},
                   {"command", boost::json::array{"sh", "-c"}},
                   {"args", boost::json::array{"trap 'exit 0' TERM; while :; do sleep 0.2; done"}}});
  REQUIRE(eventually([&] { return bed.runs("web", 3); }, std::chrono::seconds(90)));
  auto service = bed.docker->inspect_service(swarm_name(bed.names.container(bed.ns, "web")));
  REQUIRE(service.ok());
  CHECK(label_value(service->labels, testing::kTestRunLabel) == bed.run_id);
  CHECK(label_value(service->labels, kLabelInstance) == "sw-" + bed.run_id);
  auto net = bed.docker->inspect_network(swarm_name(bed.names.network(bed.ns)));
  REQUIRE(net.ok());
  CHECK(net->driver == "overlay");
  Object got = bed.get("Service", bed.ns, "web");
  CHECK(bed.status_int("web", "replicas") == 3);
  const auto* nodes = got.status_or_null()->if_contains("nodes");
  REQUIRE(nodes);
  CHECK(nodes->as_array().size() == 1);

  bed.set_replicas("web", 1);
  REQUIRE(eventually([&] { return bed.runs("web", 1); }, std::chrono::seconds(90)));
  bed.set_replicas("web", 3);
  REQUIRE(eventually([&] { return bed.runs("web", 3); }, std::chrono::seconds(90)));
  auto same = bed.docker->inspect_service(service->id);
  REQUIRE(same.ok());  // scaled in place, not replaced

  // A task killed outside cenv: the swarm starts another, and the Service is Ready again.
  std::set<std::string> before = bed.running_tasks("web");
  REQUIRE(before.size() == 3);
  const std::string victim = *before.begin();
  REQUIRE(bed.docker->kill_container(victim).ok());
  REQUIRE(eventually(
      [&] {
        auto now = bed.running_tasks("web");
        return now.size() == 3 && !now.contains(victim) && bed.runs("web", 3);
      },
      std::chrono::seconds(90)));

  REQUIRE(bed.f.client->remove({"Service", bed.ns, "web"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Service", bed.ns, "web").name().empty(); },
                     std::chrono::seconds(60)));
  auto gone = bed.docker->inspect_service(service->id);
  CHECK(gone.status().code() == Code::kNotFound);
}

}  // namespace
}  // namespace cenv
