// ServiceReconciler against FakeDockerClient: create, replace, restart, health, dependsOn,
// drift, adoption, delete, and failures as conditions.

#include "reconcilers/service_reconciler.h"

#include <catch2/catch.hpp>
#include <set>

#include "api/finalizers.h"
#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

using testing::eventually;
using testing::ReconcilerBed;
using testing::spec_of;

// An Environment "dev" that is Ready.
void ready_env(ReconcilerBed& bed, boost::json::object spec = {}) {
  bed.environment("dev", std::move(spec));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
}

TEST_CASE("service: runs a labelled container on the environment's image and network",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed, spec_of(R"({"variables": {"A": "from-env", "B": "from-env"}})"));
  Object svc = bed.service("dev", "web", spec_of(R"({
    "command": ["busybox", "httpd", "-f"], "args": ["-p", "8080"],
    "env": [{"name": "B", "value": "from-service"}],
    "ports": [{"containerPort": 8080, "hostPort": 18080}]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  auto list = bed.containers("dev", "web");
  REQUIRE(list.size() == 1);
  docker::ContainerInfo c = bed.container(list[0].id);
  CHECK(c.name == "cenv-dev-web");
  CHECK(c.image == testing::kBaseImage);
  CHECK(c.entrypoint == std::vector<std::string>{"busybox", "httpd", "-f"});
  CHECK(c.cmd == std::vector<std::string>{"-p", "8080"});
  CHECK(label_value(c.labels, kLabelManaged) == "true");
  CHECK(label_value(c.labels, kLabelKind) == "Service");
  CHECK(label_value(c.labels, kLabelNamespace) == "dev");
  CHECK(label_value(c.labels, kLabelName) == "web");
  CHECK(label_value(c.labels, kLabelUid) == svc.uid());
  CHECK(label_value(c.labels, kLabelSpecHash).size() == 16);
  CHECK(std::find(c.env.begin(), c.env.end(), "A=from-env") != c.env.end());
  CHECK(std::find(c.env.begin(), c.env.end(), "B=from-service") != c.env.end());
  CHECK(std::find(c.env.begin(), c.env.end(), "B=from-env") == c.env.end());
  REQUIRE(c.networks.count("cenv-dev") == 1);
  CHECK(std::find(c.networks["cenv-dev"].aliases.begin(), c.networks["cenv-dev"].aliases.end(),
                  "web") != c.networks["cenv-dev"].aliases.end());
  Object got = bed.get("Service", "dev", "web");
  CHECK(bed.status_field(got, "phase") == "Ready");
  CHECK(bed.status_field(got, "containerID") == c.id);
  CHECK(bed.restarts(got) == 0);
  CHECK(has_finalizer(got, kCleanupFinalizer));
  CHECK(bed.condition_is("Service", "dev", "web", "Healthy", "True", "NoHealthCheck"));
}

TEST_CASE("service: records Events for what it does", "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "web", spec_of(R"({"args": ["1"]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  bed.update("Service", "dev", "web",
             [](Object& changed) { changed.spec()["args"] = boost::json::array{"2"}; });
  auto reasons = [&] {
    std::set<std::string> out;
    auto l = bed.f.client->list("Event", "dev", {});
    if (!l.ok()) return out;
    for (const Object& e : l->items) {
      if (Object::str_field(e.json().at("involvedObject").as_object(), "name") == "web") {
        out.insert(std::string(Object::str_field(e.json(), "reason")));
      }
    }
    return out;
  };
  REQUIRE(eventually([&] { return reasons().count("Replaced") == 1; }));
  CHECK(reasons().count("Created") == 1);
}

TEST_CASE("service: waits while the environment has no image", "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.environment("dev", spec_of(R"({"baseImage": "example/later:1"})"));
  bed.service("dev", "web");
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Ready", "False", "WaitingForImage");
  }));
  CHECK(bed.containers("dev", "web").empty());
  bed.docker.add_image(testing::image("example/later:1"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  CHECK(bed.container(bed.containers("dev", "web")[0].id).image == "example/later:1");
}

// Events recorded about Service dev/`name`, as "type reason".
std::vector<std::string> service_events(ReconcilerBed& bed, const std::string& name) {
  std::vector<std::string> out;
  auto l = bed.f.client->list("Event", "dev", {});
  REQUIRE(l.ok());
  for (const Object& e : l->items) {
    if (Object::str_field(e.json().at("involvedObject").as_object(), "name") == name) {
      out.push_back(std::string(Object::str_field(e.json(), "type")) + " " +
                    std::string(Object::str_field(e.json(), "reason")));
    }
  }
  return out;
}

TEST_CASE("service: waits quietly while its environment's network is not ready, then runs",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  // The network cannot be created for a while: the Environment retries with back-off (about
  // 4 s for 25 failures at the bed's queue delays), its NetworkReady False meanwhile.
  bed.docker.fail_next("create_network", Status::Internal("the bridge driver is busy"), 25);
  bed.environment("dev");
  bed.service("dev", "web");  // on the Environment's image (set while the network fails)
  bed.service("dev", "db", spec_of(R"({"image": "cenv/base:bookworm"})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Ready", "False", "WaitingForNetwork") &&
           bed.condition_is("Service", "dev", "db", "Ready", "False", "WaitingForNetwork");
  }));
  // Read before the Environment's condition: if the network is still not ready after, no
  // container was created or started before either.
  size_t touched =
      bed.docker.call_count("create_container") + bed.docker.call_count("start_container");
  if (!bed.condition_is("Environment", "", "dev", "NetworkReady", "True")) CHECK(touched == 0);
  Object waiting = bed.get("Service", "dev", "web");
  CHECK(bed.status_field(waiting, "phase") == "Pending");
  std::string message = get_condition(waiting, "Ready")->message;
  CHECK(message.find("cenv-dev") != std::string::npos);
  CHECK(message.find("the bridge driver is busy") != std::string::npos);

  REQUIRE(eventually([&] { return bed.ready("dev", "web") && bed.ready("dev", "db"); }));
  CHECK(bed.docker.call_count("create_container") == 2);
  for (const char* name : {"web", "db"}) {
    INFO(name);
    for (const std::string& e : service_events(bed, name)) CHECK(e.rfind("Warning", 0) != 0);
  }
}

TEST_CASE("service: a spec change replaces the container, the same spec is left alone",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  Object svc = bed.service("dev", "web", spec_of(R"({"args": ["one"]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  std::string first = bed.containers("dev", "web")[0].id;
  size_t creates = bed.docker.call_count("create_container");

  bed.update("Service", "dev", "web",
             [](Object& changed) { changed.spec()["args"] = boost::json::array{"two"}; });
  REQUIRE(eventually([&] {
    auto l = bed.containers("dev", "web");
    return l.size() == 1 && l[0].id != first && bed.ready("dev", "web") &&
           bed.status_field(bed.get("Service", "dev", "web"), "containerID") == l[0].id;
  }));
  CHECK(bed.container(bed.containers("dev", "web")[0].id).cmd == std::vector<std::string>{"two"});
  CHECK(bed.restarts(bed.get("Service", "dev", "web")) == 0);
  CHECK(bed.docker.call_count("create_container") == creates + 1);

  // Re-applying the same spec (a metadata-only change) mutates nothing in Docker.
  bed.update("Service", "dev", "web", [](Object& same) {
    same.metadata()["labels"] = boost::json::object{{"touched", "yes"}};
  });
  REQUIRE(eventually([&] { return bed.set->controller("Service")->idle(); }));
  CHECK(bed.docker.call_count("create_container") == creates + 1);
  CHECK(bed.docker.call_count("remove_container") == 1);
}

TEST_CASE("service: restartPolicy Always restarts an exited container and counts it",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  std::string id = bed.containers("dev", "web")[0].id;
  REQUIRE(bed.docker.exit_container(id, 137).ok());
  REQUIRE(eventually([&] {
    return bed.restarts(bed.get("Service", "dev", "web")) == 1 && bed.ready("dev", "web");
  }));
  CHECK(bed.container(id).state.running);  // the same container, started again
}

TEST_CASE("service: restartPolicy Never leaves an exited container stopped",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "ok", spec_of(R"({"restartPolicy": "Never"})"));
  bed.service("dev", "bad", spec_of(R"({"restartPolicy": "OnFailure"})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "ok") && bed.ready("dev", "bad"); }));
  REQUIRE(bed.docker.exit_container(bed.containers("dev", "ok")[0].id, 3).ok());
  REQUIRE(bed.docker.exit_container(bed.containers("dev", "bad")[0].id, 0).ok());
  REQUIRE(eventually([&] {
    return bed.status_field(bed.get("Service", "dev", "ok"), "phase") == "Failed" &&
           bed.status_field(bed.get("Service", "dev", "bad"), "phase") == "Stopped";
  }));
  CHECK(bed.condition_is("Service", "dev", "ok", "Ready", "False", "Exited"));
  CHECK(bed.condition_is("Service", "dev", "bad", "Ready", "False", "Completed"));
  CHECK(bed.restarts(bed.get("Service", "dev", "ok")) == 0);
}

TEST_CASE("service: a crashing container is restarted with back-off", "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.docker.set_start_behavior(
      [](const docker::ContainerInfo& c) -> std::optional<docker::FakeDockerClient::Exit> {
        if (label_value(c.labels, kLabelName) == "crash")
          return docker::FakeDockerClient::Exit{1, "", ""};
        return std::nullopt;
      });
  bed.service("dev", "crash");
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "crash", "Ready", "False", "CrashLoopBackOff");
  }));
  CHECK(bed.restarts(bed.get("Service", "dev", "crash")) >= 1);
  CHECK(bed.containers("dev", "crash").size() == 1);
}

TEST_CASE("service: a command that is not found is reported as BadCommand",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  // As with the init process: the container starts, then exits 127 at once.
  bed.docker.set_start_behavior(
      [](const docker::ContainerInfo&) -> std::optional<docker::FakeDockerClient::Exit> {
        return docker::FakeDockerClient::Exit{127, "", "exec nonexistent failed"};
      });
  bed.service("dev", "web", spec_of(R"({"command": ["nonexistent"]})"));
  REQUIRE(eventually(
      [&] { return bed.condition_is("Service", "dev", "web", "Ready", "False", "BadCommand"); }));
  CHECK(
      get_condition(bed.get("Service", "dev", "web"), "Ready")->message.find("command not found") !=
      std::string::npos);
}

TEST_CASE("service: a removed container is recreated at once (Docker events)",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  std::string id = bed.containers("dev", "web")[0].id;
  REQUIRE(bed.docker.remove_container(id, {.force = true}).ok());
  REQUIRE(eventually([&] {
    auto l = bed.containers("dev", "web");
    return l.size() == 1 && l[0].id != id && bed.ready("dev", "web") &&
           bed.status_field(bed.get("Service", "dev", "web"), "containerID") == l[0].id;
  }));
  INFO(bed.explain("Service", "dev", "web"));
  CHECK(bed.restarts(bed.get("Service", "dev", "web")) == 1);
}

TEST_CASE("service: tcpPort health drives Healthy and Ready", "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.tcp_ok = false;
  ready_env(bed);
  bed.service("dev", "web", spec_of(R"({"healthCheck": {"tcpPort": 80, "interval": "50ms",
                                        "retries": 2}})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Healthy", "False", "HealthCheckFailed");
  }));
  CHECK(bed.status_field(bed.get("Service", "dev", "web"), "phase") == "Running");
  CHECK_FALSE(bed.ready("dev", "web"));
  bed.tcp_ok = true;
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  CHECK(bed.condition_is("Service", "dev", "web", "Healthy", "True"));
  bed.tcp_ok = false;
  REQUIRE(eventually(
      [&] { return bed.condition_is("Service", "dev", "web", "Ready", "False", "Unhealthy"); }));
}

TEST_CASE("service: failures in startPeriod do not count", "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.tcp_ok = false;
  ready_env(bed);
  bed.service("dev", "web", spec_of(R"({"healthCheck": {"tcpPort": 80, "interval": "20ms",
                                        "retries": 1, "startPeriod": "1h"}})"));
  REQUIRE(eventually(
      [&] { return bed.condition_is("Service", "dev", "web", "Healthy", "Unknown", "Starting"); }));
  // Many failed checks later it is still only Starting.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(bed.condition_is("Service", "dev", "web", "Healthy", "Unknown", "Starting"));
  CHECK(bed.status_field(bed.get("Service", "dev", "web"), "phase") == "Starting");
}

TEST_CASE("service: exec health check runs in the container", "[reconcilers][service]") {
  ReconcilerBed bed;
  std::atomic<int> code{1};
  bed.docker.set_exec_behavior(
      [&](const docker::ContainerInfo&, const docker::ExecSpec& spec, const std::string&) {
        return docker::FakeDockerClient::Exit{
            spec.cmd == std::vector<std::string>{"check"} ? code.load() : 99, "", ""};
      });
  ready_env(bed);
  bed.service("dev", "web", spec_of(R"({"healthCheck": {"exec": ["check"], "interval": "20ms",
                                        "retries": 1}})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Healthy", "False", "HealthCheckFailed");
  }));
  code = 0;
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
}

TEST_CASE("service: dependsOn starts a service only once its dependencies are Ready",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.tcp_ok = false;
  ready_env(bed);
  bed.service("dev", "app", spec_of(R"({"dependsOn": ["db"]})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "app", "Ready", "False", "WaitingForDependencies");
  }));
  bed.service("dev", "db", spec_of(R"({"healthCheck": {"tcpPort": 5432, "interval": "20ms"}})"));
  REQUIRE(eventually([&] { return bed.containers("dev", "db").size() == 1; }));
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "app", "Ready", "False", "WaitingForDependencies");
  }));
  CHECK(bed.containers("dev", "app").empty());
  bed.tcp_ok = true;
  REQUIRE(eventually([&] { return bed.ready("dev", "app"); }));
  CHECK(bed.containers("dev", "app").size() == 1);
}

TEST_CASE("service: an image switch rolls in dependsOn order", "[reconcilers][service]") {
  ReconcilerBed bed;
  bed.docker.add_image(testing::image("cenv/next:1"));
  ready_env(bed);
  bed.service("dev", "db", spec_of(R"({"healthCheck": {"tcpPort": 5432, "interval": "20ms"}})"));
  bed.service("dev", "app", spec_of(R"({"dependsOn": ["db"]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "db") && bed.ready("dev", "app"); }));
  CHECK(bed.status_field(bed.get("Service", "dev", "app"), "image") == testing::kBaseImage);
  const std::string app_before = bed.containers("dev", "app")[0].id;

  // The new image's db does not pass its check yet: app keeps serving on the old image.
  bed.tcp_ok = false;
  bed.update("Environment", "", "dev",
             [](Object& env) { env.spec()["baseImage"] = "cenv/next:1"; });
  REQUIRE(eventually([&] { return bed.container_image("dev", "db") == "cenv/next:1"; }));
  REQUIRE(eventually([&] {
    auto ready = get_condition(bed.get("Service", "dev", "app"), "Ready");
    return ready && ready->message.find("until db (not Ready") != std::string::npos;
  }));
  REQUIRE(bed.containers("dev", "app").size() == 1);
  CHECK(bed.containers("dev", "app")[0].id == app_before);
  CHECK(bed.container(app_before).image == testing::kBaseImage);
  CHECK(bed.status_field(bed.get("Service", "dev", "app"), "image") == testing::kBaseImage);

  // Once db is Ready on the new image, app follows.
  bed.tcp_ok = true;
  REQUIRE(eventually([&] {
    auto app = bed.containers("dev", "app");
    return app.size() == 1 && app[0].id != app_before && bed.ready("dev", "app") &&
           bed.status_field(bed.get("Service", "dev", "app"), "image") == "cenv/next:1";
  }));
  CHECK(bed.container(bed.containers("dev", "app")[0].id).image == "cenv/next:1");
}

TEST_CASE("service: a dependsOn cycle is a condition naming it", "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "a", spec_of(R"({"dependsOn": ["b"]})"));
  bed.service("dev", "b", spec_of(R"({"dependsOn": ["a"]})"));
  bed.service("dev", "c");
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "a", "Ready", "False", "DependencyCycle") &&
           bed.condition_is("Service", "dev", "b", "Ready", "False", "DependencyCycle");
  }));
  CHECK(get_condition(bed.get("Service", "dev", "a"), "Ready")->message.find("a -> b -> a") !=
        std::string::npos);
  REQUIRE(eventually([&] { return bed.ready("dev", "c"); }));  // others are unaffected
}

TEST_CASE("service: deleting it removes its container and keeps its volumes unless purged",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "db", spec_of(R"({"volumes": [{"name": "data", "mountPath": "/data"}]})"));
  Object purged =
      bed.service("dev", "tmp", spec_of(R"({"volumes": [{"name": "data", "mountPath": "/d"}]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "db") && bed.ready("dev", "tmp"); }));
  CHECK(bed.docker.inspect_volume("cenv-dev-db-data").ok());
  bed.update("Service", "dev", "tmp", [](Object& annotate) {
    annotate.metadata()["annotations"] =
        boost::json::object{{std::string(kPurgeVolumesAnnotation), "true"}};
  });

  REQUIRE(bed.f.client->remove({"Service", "dev", "db"}, {}).ok());
  REQUIRE(bed.f.client->remove({"Service", "dev", "tmp"}, {}).ok());
  REQUIRE(eventually([&] {
    return bed.get("Service", "dev", "db").name().empty() &&
           bed.get("Service", "dev", "tmp").name().empty();
  }));
  CHECK(bed.containers("dev", "db").empty());
  CHECK(bed.containers("dev", "tmp").empty());
  CHECK(bed.docker.inspect_volume("cenv-dev-db-data").ok());
  CHECK(bed.docker.inspect_volume("cenv-dev-tmp-data").status().code() == Code::kNotFound);
}

TEST_CASE("service: a volume survives replacement", "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "db", spec_of(R"({"args": ["1"], "volumes": [{"name": "data",
                                       "mountPath": "/data"}]})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "db"); }));
  std::string first = bed.containers("dev", "db")[0].id;
  bed.update("Service", "dev", "db",
             [](Object& changed) { changed.spec()["args"] = boost::json::array{"2"}; });
  REQUIRE(eventually([&] {
    auto l = bed.containers("dev", "db");
    return l.size() == 1 && l[0].id != first && bed.ready("dev", "db");
  }));
  CHECK(bed.docker.remove_volume("cenv-dev-db-data").code() == Code::kConflict);  // in use
}

TEST_CASE("service: adopts its container after a controller restart", "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "web");
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  std::string id = bed.containers("dev", "web")[0].id;
  size_t creates = bed.docker.call_count("create_container");
  bed.stop();
  bed.start();
  REQUIRE(eventually([&] { return bed.set->controller("Service")->idle(); }));
  CHECK(bed.containers("dev", "web").size() == 1);
  CHECK(bed.containers("dev", "web")[0].id == id);
  CHECK(bed.docker.call_count("create_container") == creates);
}

TEST_CASE("service: an adopted healthy container stays Ready until the new controller's check",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "web", spec_of(R"({"healthCheck": {"tcpPort": 80, "interval": "50ms"}})"));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
  bed.stop();
  // The restarted controller's first check does not answer for a while: until it does, the
  // container it adopted keeps the Healthy state this object last had (no Ready flap).
  bed.tcp_hang = true;
  bed.start();
  auto ready_message = [&] {
    auto c = get_condition(bed.get("Service", "dev", "web"), "Ready");
    return c ? c->message : std::string();
  };
  REQUIRE(eventually([&] {
    return ready_message().find("before the controller restarted") != std::string::npos;
  }));
  for (int i = 0; i < 30; ++i) {
    Object svc = bed.get("Service", "dev", "web");
    INFO(svc.to_json());
    REQUIRE(bed.status_field(svc, "phase") == "Ready");
    REQUIRE(bed.ready("dev", "web"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bed.tcp_hang = false;
  REQUIRE(eventually([&] {
    return ready_message().find("before the controller restarted") == std::string::npos;
  }));
  CHECK(bed.ready("dev", "web"));
  // A container this object never saw healthy gets no such credit: a replacement starts over.
  bed.stop();
  bed.tcp_hang = true;
  bed.start();
  REQUIRE(eventually([&] { return bed.set->controller("Service")->idle(); }));
  bed.update("Service", "dev", "web", [](Object& svc) {
    svc.json()["spec"].as_object()["args"] = boost::json::array{"-v"};
  });
  REQUIRE(eventually(
      [&] { return bed.status_field(bed.get("Service", "dev", "web"), "phase") == "Starting"; }));
  CHECK_FALSE(bed.ready("dev", "web"));
  bed.tcp_hang = false;
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
}

TEST_CASE("service: never touches an unlabelled container holding its name",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  auto theirs = bed.docker.create_container({.name = "cenv-dev-web", .image = testing::kBaseImage});
  REQUIRE(theirs.ok());
  bed.service("dev", "web");
  REQUIRE(eventually(
      [&] { return bed.condition_is("Service", "dev", "web", "Ready", "False", "NameConflict"); }));
  CHECK(get_condition(bed.get("Service", "dev", "web"), "Ready")->message.find("cenv-dev-web") !=
        std::string::npos);
  CHECK(bed.docker.inspect_container(theirs.value()).ok());
  REQUIRE(bed.f.client->remove({"Service", "dev", "web"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Service", "dev", "web").name().empty(); }));
  CHECK(bed.docker.inspect_container(theirs.value()).ok());
}

TEST_CASE("service: a missing image and a failing start are conditions, others run",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.service("dev", "noimage", spec_of(R"({"image": "example/nope:1"})"));
  bed.docker.fail_next("start_container",
                       Status::Internal("driver failed programming external connectivity: Bind "
                                        "for 0.0.0.0:80 failed: port is already allocated"));
  bed.service("dev", "porty");
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "noimage", "Ready", "False", "ImagePullFailed") ||
           bed.condition_is("Service", "dev", "noimage", "Ready", "False", "ImageNotFound");
  }));
  CHECK(get_condition(bed.get("Service", "dev", "noimage"), "Ready")
            ->message.find("example/nope:1") != std::string::npos);
  // The port error was shown, and the retry (the port now free) made it run.
  REQUIRE(eventually([&] { return bed.ready("dev", "porty"); }));
  bed.service("dev", "fine");
  REQUIRE(eventually([&] { return bed.ready("dev", "fine"); }));
  CHECK(bed.status_field(bed.get("Service", "dev", "noimage"), "phase") == "Failed");
}

TEST_CASE("service: Docker down is a condition and the service recovers",
          "[reconcilers][service]") {
  ReconcilerBed bed;
  ready_env(bed);
  bed.docker.fail_next("list_containers", Status::Unavailable("docker is not running"), 3);
  bed.service("dev", "web");
  REQUIRE(eventually([&] {
    return bed.condition_is("Service", "dev", "web", "Ready", "False", "DockerUnavailable");
  }));
  REQUIRE(eventually([&] { return bed.ready("dev", "web"); }));
}

}  // namespace
}  // namespace cenv
