// Switching an Environment between spec.runtime swarm and docker on a real single-node swarm
// (the bed of swarm_bed.h): the Service's swarm service and the overlay network give way to a
// container on a bridge network, and back, with no orphan service, container or network.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "reconcilers/docker_names.h"
#include "reconcilers/service_spec.h"
#include "test/integration/swarm/swarm_bed.h"

namespace cenv {
namespace {

using testing::eventually;

// A bed reading where the Service "web" runs.
struct SwitchBed : testing::SwarmBed {
  // The Service's plain containers (a swarm task's container carries its labels too).
  size_t plain_containers() {
    auto l = docker->list_containers(
        {.all = true, .label_filters = names.filters("Service", ns, "web")});
    REQUIRE(l.ok());
    size_t n = 0;
    for (const auto& c : l.value()) {
      if (label_value(c.labels, "com.docker.swarm.task.id").empty()) ++n;
    }
    return n;
  }
  size_t swarm_services() { return services_of("Service", "web").size(); }
  // The driver of the network the Environment has under `swarm` or docker, "" when none.
  std::string driver(bool swarm) {
    auto n = docker->inspect_network(runtime_network(get("Environment", "", ns), names, swarm));
    return n.ok() ? n->driver : "";
  }
  bool ready() { return condition("Service", ns, "web", "Ready") == "True"; }
};

TEST_CASE(
    "integration swarm: switching an Environment from swarm to docker and back replaces "
    "its workloads and network",
    "[integration][reconcilers][swarm]") {
  SwitchBed bed;
  bed.f.create(
      "Service", bed.ns, "web",
      boost::json::object{
          {"command", boost::json::array{"sh", "-c"}},
          {"args", boost::json::array{"trap 'exit 0' TERM; while :; do sleep 0.2; done"}}});
  REQUIRE(eventually(
      [&] { return bed.ready() && bed.swarm_services() == 1 && bed.driver(true) == "overlay"; },
      std::chrono::seconds(90)));
  CHECK(bed.plain_containers() == 0);

  bed.set_environment_spec(boost::json::object{{"runtime", "docker"}});
  REQUIRE(eventually(
      [&] {
        return bed.ready() && bed.plain_containers() == 1 && bed.swarm_services() == 0 &&
               bed.driver(false) == "bridge" && bed.driver(true).empty();
      },
      std::chrono::seconds(90)));

  bed.set_environment_spec(boost::json::object{{"runtime", "swarm"}});
  REQUIRE(eventually(
      [&] {
        return bed.ready() && bed.swarm_services() == 1 && bed.plain_containers() == 0 &&
               bed.driver(true) == "overlay" && bed.driver(false).empty();
      },
      std::chrono::seconds(90)));
  CHECK(bed.condition("Environment", "", bed.ns, "Ready") == "True");
}

}  // namespace
}  // namespace cenv
