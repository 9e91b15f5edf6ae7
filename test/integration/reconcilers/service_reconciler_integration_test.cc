// The Environment and Service reconcilers against the real dockerd, in process: create,
// health, update (replace), dependsOn order, drift repair, unlabelled containers, delete and
// cleanup. Every Docker object carries cenv-test-run=<id> and is removed at the end.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "reconcilers/docker_names.h"
#include "test/integration/reconcilers/reconciler_bed.h"
#include "test/integration/reconcilers/socket_proxy.h"

namespace cenv {
namespace {

using testing::eventually;

// A busybox httpd Service spec serving on `port`, with a tcpPort health check.
boost::json::object httpd(int port, std::string extra_args = "") {
  boost::json::array args{"httpd", "-f", "-p", std::to_string(port)};
  if (!extra_args.empty()) args.emplace_back(extra_args);
  return boost::json::object{
      {"command", boost::json::array{"busybox"}},
      {"args", args},
      {"healthCheck", boost::json::object{{"tcpPort", port}, {"interval", "1s"}}}};
}

// The reconcilers' bed (reconciler_bed.h), with an Environment of one variable and readers
// of its Services.
struct Bed : testing::ReconcilerBed {
  Bed()
      : ReconcilerBed(
            "it", boost::json::object{{"variables", boost::json::object{{"GREETING", "hi"}}}}) {}
  bool ready(const std::string& name) { return condition("Service", ns, name, "Ready") == "True"; }
  std::vector<docker::ContainerSummary> containers(const std::string& name) {
    auto l =
        docker->list_containers({.all = true, .label_filters = names.filters("Service", ns, name)});
    REQUIRE(l.ok());
    return l.value();
  }
  std::string status_of(const std::string& name, std::string_view field) {
    Object o = get("Service", ns, name);
    return o.status_or_null() ? std::string(Object::str_field(*o.status_or_null(), field)) : "";
  }
  int64_t restarts(const std::string& name) {
    Object o = get("Service", ns, name);
    auto* r = o.status_or_null() ? o.status_or_null()->if_contains("restarts") : nullptr;
    return r && r->is_number() ? r->to_number<int64_t>() : -1;
  }
  bool wait_ready(const std::string& name) {
    return eventually([&] { return ready(name); }, std::chrono::seconds(60));
  }
};

TEST_CASE("integration: a Service runs, is healthy, is replaced on change and removed on delete",
          "[integration][reconcilers]") {
  Bed bed;
  boost::json::object spec = httpd(8080);
  spec["volumes"] =
      boost::json::array{boost::json::object{{"name", "data"}, {"mountPath", "/data"}}};
  bed.f.create("Service", bed.ns, "web", spec);
  REQUIRE(bed.wait_ready("web"));
  auto list = bed.containers("web");
  REQUIRE(list.size() == 1);
  auto info = bed.docker->inspect_container(list[0].id);
  REQUIRE(info.ok());
  CHECK(info->name == bed.names.container(bed.ns, "web"));
  CHECK(label_value(info->labels, testing::kTestRunLabel) == bed.run_id);
  CHECK(std::find(info->env.begin(), info->env.end(), "GREETING=hi") != info->env.end());
  CHECK(info->networks.count(bed.names.network(bed.ns)) == 1);
  CHECK(bed.status_of("web", "phase") == "Ready");
  CHECK(bed.condition("Service", bed.ns, "web", "Healthy") == "True");

  // A spec change replaces the container; the named volume stays.
  Object changed = bed.get("Service", bed.ns, "web");
  changed.spec()["args"] = boost::json::array{"httpd", "-f", "-p", "8081"};
  changed.spec()["healthCheck"].as_object()["tcpPort"] = 8081;
  REQUIRE(bed.f.client->update(changed).ok());
  REQUIRE(eventually(
      [&] {
        auto l = bed.containers("web");
        return l.size() == 1 && l[0].id != list[0].id && bed.ready("web");
      },
      std::chrono::seconds(60)));
  CHECK(bed.docker->inspect_volume(bed.names.volume(bed.ns, "web", "data")).ok());

  // Delete: the container goes, the volume stays.
  REQUIRE(bed.f.client->remove({"Service", bed.ns, "web"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Service", bed.ns, "web").name().empty(); },
                     std::chrono::seconds(60)));
  for (const auto& c : bed.containers("web")) {
    FAIL_CHECK("container left after delete: " << c.id << " " << c.status);
  }
  CHECK(bed.docker->inspect_volume(bed.names.volume(bed.ns, "web", "data")).ok());
}

TEST_CASE("integration: dependsOn starts a Service only after its dependency is Ready",
          "[integration][reconcilers]") {
  Bed bed;
  // db listens only after 2 s: until then it is not Ready, and app must not exist.
  boost::json::object db{
      {"command", boost::json::array{"busybox", "sh", "-c"}},
      {"args", boost::json::array{"sleep 2; exec busybox httpd -f -p 5432"}},
      {"healthCheck", boost::json::object{{"tcpPort", 5432}, {"interval", "1s"}}}};
  boost::json::object app = httpd(8080);
  app["dependsOn"] = boost::json::array{"db"};
  bed.f.create("Service", bed.ns, "app", app);
  bed.f.create("Service", bed.ns, "db", db);
  bool app_before_db = false;
  REQUIRE(eventually(
      [&] {
        if (!bed.ready("db") && !bed.containers("app").empty()) app_before_db = true;
        return bed.ready("app");
      },
      std::chrono::seconds(60)));
  CHECK_FALSE(app_before_db);
}

TEST_CASE("integration: a container removed or killed outside cenv is repaired",
          "[integration][reconcilers]") {
  Bed bed;
  bed.f.create("Service", bed.ns, "web", httpd(8080));
  REQUIRE(bed.wait_ready("web"));
  std::string id = bed.containers("web")[0].id;

  REQUIRE(bed.docker->kill_container(id, "SIGKILL").ok());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return bed.restarts("web") == 1 && bed.ready("web"); },
                     std::chrono::seconds(60)));
  WARN("killed container Ready again after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                t0)
              .count()
       << " ms");

  REQUIRE(bed.docker->remove_container(id, {.force = true}).ok());
  t0 = std::chrono::steady_clock::now();
  REQUIRE(eventually(
      [&] {
        auto l = bed.containers("web");
        return l.size() == 1 && l[0].id != id && bed.ready("web");
      },
      std::chrono::seconds(60)));
  WARN("removed container Ready again after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                t0)
              .count()
       << " ms");
}

TEST_CASE(
    "integration: an unlabelled container is never touched, deleting the Environment "
    "cleans up",
    "[integration][reconcilers]") {
  Bed bed;
  docker::ContainerSpec theirs;
  theirs.name = bed.names.container(bed.ns, "web");
  theirs.image = "cenv/base:bookworm";
  theirs.cmd = {"sleep", "300"};
  theirs.labels = {{testing::kTestRunLabel, bed.run_id}};
  auto id = bed.docker->create_container(theirs);
  REQUIRE(id.ok());
  bed.f.create("Service", bed.ns, "web", httpd(8080));
  bed.f.create("Service", bed.ns, "other", httpd(8080));
  REQUIRE(eventually(
      [&] {
        auto c = get_condition(bed.get("Service", bed.ns, "web"), "Ready");
        return c && c->reason == "NameConflict";
      },
      std::chrono::seconds(60)));
  REQUIRE(bed.wait_ready("other"));

  REQUIRE(bed.f.client->remove({"Environment", "", bed.ns}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Environment", "", bed.ns).name().empty(); },
                     std::chrono::seconds(60)));
  CHECK(bed.containers("other").empty());
  CHECK(bed.docker->inspect_network(bed.names.network(bed.ns)).status().code() == Code::kNotFound);
  auto still = bed.docker->inspect_container(id.value());
  REQUIRE(still.ok());
  CHECK(still->state.status == "created");  // never started, stopped or removed by cenv
}

TEST_CASE(
    "integration: a port taken, a missing image and a bad command are conditions, "
    "others run",
    "[integration][reconcilers]") {
  Bed bed;
  auto reason = [&](const std::string& name) {
    auto c = get_condition(bed.get("Service", bed.ns, name), "Ready");
    return c ? c->reason : "";
  };
  // A free host port, found by binding port 0 (then released for the first Service).
  int port = 0;
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    close(fd);
  }
  boost::json::array ports{
      boost::json::object{{"containerPort", 8080}, {"hostPort", port}, {"hostIP", "127.0.0.1"}}};
  boost::json::object first = httpd(8080);
  first["ports"] = ports;
  bed.f.create("Service", bed.ns, "first", first);
  REQUIRE(bed.wait_ready("first"));
  boost::json::object second = httpd(8080);
  second["ports"] = ports;
  bed.f.create("Service", bed.ns, "second", second);
  boost::json::object noimage = httpd(8080);
  noimage["image"] = "cenv/does-not-exist:" + bed.run_id;
  bed.f.create("Service", bed.ns, "noimage", noimage);
  boost::json::object badcmd{{"command", boost::json::array{"no-such-command-" + bed.run_id}}};
  bed.f.create("Service", bed.ns, "badcmd", badcmd);
  bed.f.create("Service", bed.ns, "fine", httpd(8080));

  REQUIRE(eventually([&] { return reason("second") == "PortInUse"; }, std::chrono::seconds(60)));
  REQUIRE(eventually(
      [&] {
        return reason("noimage") == "ImagePullFailed" || reason("noimage") == "ImageNotFound";
      },
      std::chrono::seconds(60)));
  REQUIRE(eventually([&] { return reason("badcmd") == "BadCommand"; }, std::chrono::seconds(60)));
  REQUIRE(bed.wait_ready("fine"));
  CHECK(bed.ready("first"));
  auto msg = get_condition(bed.get("Service", bed.ns, "second"), "Ready")->message;
  CHECK(msg.find(std::to_string(port)) != std::string::npos);  // Docker's own message
}

TEST_CASE("integration: a restarted controller adopts its containers",
          "[integration][reconcilers]") {
  Bed bed;
  bed.f.create("Service", bed.ns, "web", httpd(8080));
  REQUIRE(bed.wait_ready("web"));
  std::string id = bed.containers("web")[0].id;
  bed.set->stop();
  bed.set.reset();
  bed.start();
  REQUIRE(eventually([&] { return bed.set->controller("Service")->idle() && bed.ready("web"); },
                     std::chrono::seconds(60)));
  auto l = bed.containers("web");
  REQUIRE(l.size() == 1);
  CHECK(l[0].id == id);
}

TEST_CASE(
    "integration: Docker going away and coming back is reconnected to, and what "
    "changed meanwhile is repaired",
    "[integration][reconcilers]") {
  testing::ApiFixture f;
  std::string run_id = testing::new_run_id();
  std::string ns = "it-" + run_id;
  auto real = testing::connect_docker();
  testing::DockerCleanup cleanup(*real, run_id, ns);
  // The controller reaches dockerd only through the proxy: stopping it is "Docker down".
  std::string sock = (f.dir / "docker.sock").string();
  testing::SocketProxy proxy(sock, "/var/run/docker.sock");
  REQUIRE(proxy.start());
  docker::EngineOptions proxied;
  proxied.host = "unix://" + sock;
  DockerConnection connection([proxied]() -> Result<std::unique_ptr<docker::DockerClient>> {
    auto c = docker::EngineDockerClient::connect(proxied);
    if (!c.ok()) return c.status();
    return std::unique_ptr<docker::DockerClient>(std::move(c.value()));
  });
  ReconcilerSetOptions o;
  o.names = DockerNames("it-" + run_id, {{testing::kTestRunLabel, run_id}});
  o.docker_events.max_backoff = std::chrono::milliseconds(500);
  auto set = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
  REQUIRE(set.ok());
  auto ready = [&] {
    auto c = get_condition(f.client->get({"Service", ns, "web"}).value(), "Ready");
    return c && c->status == "True";
  };
  auto restarts = [&] {
    Object o = f.client->get({"Service", ns, "web"}).value();
    auto* r = o.status_or_null() ? o.status_or_null()->if_contains("restarts") : nullptr;
    return r && r->is_number() ? r->to_number<int64_t>() : -1;
  };
  f.create("Environment", "", ns);
  f.create("Service", ns, "web", httpd(8080));
  REQUIRE(eventually(ready, std::chrono::seconds(60)));
  CHECK(restarts() == 0);

  proxy.stop();
  // While the controller cannot see Docker, its container is killed.
  REQUIRE(real->kill_container(o.names.container(ns, "web"), "SIGKILL").ok());
  REQUIRE(proxy.start());
  REQUIRE(eventually([&] { return restarts() == 1 && ready(); }, std::chrono::seconds(60)));
  set.value()->stop();
}

}  // namespace
}  // namespace cenv
