// The Service reconciler on a real single-node Docker Swarm (Environment.spec.runtime: swarm),
// in process: a 3-replica Service runs 3 tasks, scales to 1 and back, heals a killed task and
// is removed on delete. On the bed of swarm_bed.h: a swarm made for the test is left at the
// end, one found is left as it was; everything the test creates carries cenv-test-run=<id>
// and its own cenv instance, and is removed at the end.

#include <catch2/catch.hpp>
#include <chrono>
#include <set>

#include "reconcilers/docker_names.h"
#include "reconcilers/service_spec.h"
#include "test/integration/swarm/swarm_bed.h"

namespace cenv {
namespace {

using testing::eventually;

// A bed whose Services are read back by their status and their swarm tasks.
struct SwarmServiceBed : testing::SwarmBed {
  int64_t status_int(const std::string& name, std::string_view field) {
    Object o = get("Service", ns, name);
    const auto* v = o.status_or_null() ? o.status_or_null()->if_contains(field) : nullptr;
    return v && v->is_number() ? v->to_number<int64_t>() : -1;
  }
  // The running tasks' containers of the Service's swarm service.
  std::set<std::string> running_tasks(const std::string& name) {
    return running_tasks_of(swarm_name(names.container(ns, name)));
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
};

TEST_CASE(
    "integration swarm: a 3-replica Service runs 3 tasks - scales to 1 and back - heals a "
    "killed task - is removed on delete",
    "[integration][reconcilers][swarm]") {
  SwarmServiceBed bed;
  // Exits at once on SIGTERM, so scaling down and removal are fast.
  bed.f.create(
      "Service", bed.ns, "web",
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
