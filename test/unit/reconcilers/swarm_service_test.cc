// ServiceReconciler with SwarmWorkloads (Environment.spec.runtime: swarm) against
// FakeDockerClient's swarm: service spec, scaling in place, task failures, delete, and a swarm
// that is not initialised, switching an Environment between runtimes. Also: replicas on
// runtime docker.

#include <catch2/catch.hpp>

#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

using testing::eventually;
using testing::ReconcilerBed;
using testing::spec_of;

void make_manager(ReconcilerBed& bed) {
  bed.docker.set_swarm_state({.local_node_state = "active",
                              .control_available = true,
                              .node_id = "fake-node",
                              .error = ""});
}

void swarm_env(ReconcilerBed& bed) {
  bed.environment("dev", spec_of(R"({"runtime": "swarm"})"));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
}

int64_t status_int(ReconcilerBed& bed, const std::string& name, std::string_view field) {
  Object o = bed.get("Service", "dev", name);
  const auto* st = o.status_or_null();
  const auto* v = st ? st->if_contains(field) : nullptr;
  return v && v->is_number() ? v->to_number<int64_t>() : -1;
}

TEST_CASE("swarm service: runs a labelled swarm service of its replicas on an overlay network",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  swarm_env(bed);
  auto net = bed.docker.inspect_network("cenv-dev");
  REQUIRE(net.ok());
  CHECK(net->driver == "overlay");
  Object svc = bed.service("dev", "web", spec_of(R"({
    "replicas": 3, "restartPolicy": "OnFailure", "args": ["sleep", "infinity"],
    "ports": [{"containerPort": 8080, "hostPort": 18080}, {"containerPort": 9090}],
    "volumes": [{"name": "data", "mountPath": "/data"}],
    "healthCheck": {"exec": ["true"], "interval": "2s"}})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  auto spec = bed.docker.service_spec("cenv-dev-web");
  REQUIRE(spec);
  CHECK(spec->replicas == 3);
  CHECK(spec->image == testing::kBaseImage);
  CHECK(spec->args == std::vector<std::string>{"sleep", "infinity"});
  CHECK(spec->network == "cenv-dev");
  CHECK(spec->aliases == std::vector<std::string>{"web"});
  CHECK(spec->restart_condition == "on-failure");
  REQUIRE(spec->health_check);
  CHECK(spec->health_check->test == std::vector<std::string>{"CMD", "true"});
  CHECK(spec->health_check->interval_ns == 2'000'000'000);
  REQUIRE(spec->ports.size() == 1);  // 9090 has no hostPort: not published
  CHECK(spec->ports[0].target_port == 8080);
  CHECK(spec->ports[0].published_port == 18080);
  REQUIRE(spec->mounts.size() == 1);
  CHECK(spec->mounts[0].source == "cenv-dev-web-data");
  CHECK(label_value(spec->mounts[0].volume_labels, kLabelUid) == svc.uid());
  for (const docker::Labels* labels : {&spec->labels, &spec->container_labels}) {
    CHECK(label_value(*labels, kLabelManaged) == "true");
    CHECK(label_value(*labels, kLabelKind) == "Service");
    CHECK(label_value(*labels, kLabelName) == "web");
    CHECK(label_value(*labels, kLabelUid) == svc.uid());
  }
  CHECK(label_value(spec->labels, kLabelSpecHash).size() == 16);
  CHECK(bed.containers("dev", "web").empty());  // no plain container
  Object got = bed.get("Service", "dev", "web");
  CHECK(bed.status_field(got, "phase") == "Ready");
  CHECK(status_int(bed, "web", "replicas") == 3);
  CHECK(status_int(bed, "web", "readyReplicas") == 3);
  const auto* nodes = got.status_or_null()->if_contains("nodes");
  REQUIRE(nodes);
  CHECK(boost::json::serialize(*nodes) == R"(["node-1"])");
  CHECK(get_condition(got, "Ready")->message == "3/3 replicas running on node-1");
  const auto* endpoints = got.status_or_null()->if_contains("endpoints");
  REQUIRE(endpoints);
  CHECK(boost::json::serialize(*endpoints) == R"(["0.0.0.0:18080/tcp"])");
}

TEST_CASE("swarm service: a change of replicas scales the service in place - others replace it",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  swarm_env(bed);
  bed.service("dev", "web", spec_of(R"({"replicas": 3})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  auto first = bed.docker.inspect_service("cenv-dev-web");
  REQUIRE(first.ok());
  bed.update("Service", "dev", "web", [](Object& o) { o.spec()["replicas"] = 1; });
  REQUIRE(eventually([&] { return status_int(bed, "web", "readyReplicas") == 1; }));
  CHECK(bed.docker.call_count("scale_service") == 1);
  auto scaled = bed.docker.inspect_service("cenv-dev-web");
  REQUIRE(scaled.ok());
  CHECK(scaled->id == first->id);
  CHECK(scaled->replicas == 1);
  bed.update("Service", "dev", "web", [](Object& o) { o.spec()["replicas"] = 0; });
  REQUIRE(eventually([&] { return status_int(bed, "web", "replicas") == 0; }));
  CHECK(bed.ready("dev", "web"));
  bed.update("Service", "dev", "web",
             [](Object& o) { o.spec()["args"] = boost::json::array{"other"}; });
  REQUIRE(eventually([&] {
    auto now = bed.docker.inspect_service("cenv-dev-web");
    return now.ok() && now->id != first->id;
  }));
  CHECK(bed.docker.service_spec("cenv-dev-web")->replicas == 0);
}

TEST_CASE("swarm service: tasks that do not run show TasksFailing with the task's error",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  swarm_env(bed);
  bed.service("dev", "web", spec_of(R"({"replicas": 2})"));
  REQUIRE(eventually([&] { return bed.docker.service_spec("cenv-dev-web").has_value(); }));
  bed.docker.set_running_tasks("cenv-dev-web", 1, "No such image: nope");
  // The fake sends no events for tasks: a change of the Service brings it back at once.
  bed.update("Service", "dev", "web", [](Object& o) {
    o.metadata()["annotations"] = boost::json::object{{"touched", "1"}};
  });
  REQUIRE(eventually(
      [&] { return bed.condition_is("Service", "dev", "web", "Ready", "False", "TasksFailing"); }));
  std::string message = get_condition(bed.get("Service", "dev", "web"), "Ready")->message;
  CHECK(message.find("1/2 replicas running") != std::string::npos);
  CHECK(message.find("No such image: nope") != std::string::npos);
  CHECK(bed.condition_is("Service", "dev", "web", "Healthy", "False", "TasksFailing"));
  bed.docker.set_running_tasks("cenv-dev-web", 2);  // the swarm healed it; 1 s recheck
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
}

TEST_CASE("swarm service: delete removes the swarm service", "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  swarm_env(bed);
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  REQUIRE(bed.f.client->remove({"Service", "dev", "web"}, {}).ok());
  REQUIRE(eventually([&] { return !bed.docker.service_spec("cenv-dev-web").has_value(); }));
  REQUIRE(eventually([&] { return bed.get("Service", "dev", "web").name().empty(); }));
}

TEST_CASE("swarm service: an engine that is not a swarm manager is named with docker swarm init",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  bed.environment("dev", spec_of(R"({"runtime": "swarm"})"));
  bed.service("dev", "web");
  REQUIRE(eventually([&] {
    return bed.condition_is("Environment", "", "dev", "NetworkReady", "False",
                            "SwarmNotInitialised");
  }));
  auto env_cond = get_condition(bed.get("Environment", "", "dev"), "NetworkReady");
  CHECK(env_cond->message.find("`docker swarm init`") != std::string::npos);
  REQUIRE(eventually([&] {
    auto c = get_condition(bed.get("Service", "dev", "web"), "Ready");
    return c && c->reason == "SwarmNotInitialised" &&
           c->message.find("`docker swarm init`") != std::string::npos;
  }));
  CHECK(bed.docker.inspect_network("cenv-dev").status().code() == Code::kNotFound);
  // Once the swarm is there, the Environment's recheck creates the network and the Service runs.
  make_manager(bed);
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }, std::chrono::seconds(60)));
}

// The Service's workloads: its containers and its swarm services.
size_t containers_of(ReconcilerBed& bed, const std::string& name) {
  return bed.containers("dev", name).size();
}
bool has_swarm_service(ReconcilerBed& bed, const std::string& name) {
  return bed.docker.service_spec("cenv-dev-" + name).has_value();
}
std::string network_driver(ReconcilerBed& bed) {
  auto n = bed.docker.inspect_network("cenv-dev");
  return n.ok() ? n->driver : "";
}

TEST_CASE("runtime switch: docker to swarm replaces the container and the bridge network",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  REQUIRE(containers_of(bed, "web") == 1);
  REQUIRE(network_driver(bed) == "bridge");
  bed.update("Environment", "", "dev", [](Object& o) { o.spec()["runtime"] = "swarm"; });
  REQUIRE(eventually([&] {
    return has_swarm_service(bed, "web") && bed.ready("dev", "web") &&
           network_driver(bed) == "overlay";
  }));
  CHECK(containers_of(bed, "web") == 0);  // no orphan container
  CHECK(bed.docker.service_spec("cenv-dev-web")->network == "cenv-dev");
  CHECK(bed.condition_is("Environment", "", "dev", "Ready", "True"));
}

TEST_CASE("runtime switch: swarm to docker replaces the swarm service and the overlay network",
          "[reconcilers][service][swarm]") {
  ReconcilerBed bed;
  make_manager(bed);
  swarm_env(bed);
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web") && has_swarm_service(bed, "web"); }));
  REQUIRE(network_driver(bed) == "overlay");
  bed.update("Environment", "", "dev", [](Object& o) { o.spec()["runtime"] = "docker"; });
  REQUIRE(eventually([&] {
    return containers_of(bed, "web") == 1 && bed.ready("dev", "web") &&
           network_driver(bed) == "bridge";
  }));
  CHECK_FALSE(has_swarm_service(bed, "web"));  // no orphan service
  auto list = bed.containers("dev", "web");
  CHECK(bed.container(list[0].id).networks.count("cenv-dev") == 1);
}

TEST_CASE("service: replicas other than 1 on runtime docker is ReplicasUnsupported",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  bed.service("dev", "web", spec_of(R"({"replicas": 2})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Ready", "False", "ReplicasUnsupported");
  }));
  CHECK(get_condition(bed.get("Service", "dev", "web"), "Ready")->message.find("runtime") !=
        std::string::npos);
  CHECK(bed.containers("dev", "web").empty());
  bed.update("Service", "dev", "web", [](Object& o) { o.spec()["replicas"] = 1; });
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  CHECK(status_int(bed, "web", "replicas") == 1);
  CHECK(status_int(bed, "web", "readyReplicas") == 1);
}

}  // namespace
}  // namespace cenv
