// CommandRuns of an Environment with spec.runtime swarm against FakeDockerClient's swarm: one
// one-shot swarm service per attempt (restart condition none, 1 replica), output from the
// service's logs, exit code from its task, timeout, delete, re-attach after a restart, and
// removal of the services once the run is concluded.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "api/conditions.h"
#include "reconcilers/commandrun_target.h"
#include "test/unit/reconcilers/commandrun_bed.h"

namespace cenv {
namespace {

namespace json = boost::json;
using docker::FakeDockerClient;
using testing::command;
using Bed = testing::CommandRunBed;

// The Bed's Environment "dev" on runtime swarm, on an engine that is a swarm manager.
void on_swarm(Bed& bed) {
  bed.docker.set_swarm_state({.local_node_state = "active",
                              .control_available = true,
                              .node_id = "fake-node",
                              .error = ""});
  auto env = bed.api.client->get({"Environment", "", "dev"});
  REQUIRE(env.ok());
  env->spec()["runtime"] = "swarm";
  REQUIRE(bed.api.client->update(*env).ok());
}

std::vector<docker::SwarmServiceInfo> services(Bed& bed) {
  auto l = bed.docker.list_services({"io.cenv.kind=CommandRun"});
  REQUIRE(l.ok());
  return l.value();
}

int64_t status_int(const Object& o, std::string_view field) {
  const auto* v = o.status_or_null() ? o.status_or_null()->if_contains(field) : nullptr;
  return v && v->is_number() ? v->to_number<int64_t>() : -1;
}

TEST_CASE(
    "CommandRun on swarm runs as a one-shot swarm service - its logs and exit code are "
    "stored and the service removed",
    "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  std::vector<docker::SwarmServiceSpec> created;
  bed.docker.set_service_behavior([&](const docker::SwarmServiceSpec& spec) {
    created.push_back(spec);
    return FakeDockerClient::Exit{0, "out\n", "err\n"};
  });
  Object run = bed.run("hello", command({"sh", "-c", "echo out"}, {{"workingDir", "/tmp"}}));
  bed.drive("hello", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  REQUIRE(created.size() == 1);
  const docker::SwarmServiceSpec& s = created[0];
  CHECK(s.name == "cenv-dev-hello_1");
  CHECK(s.restart_condition == "none");
  CHECK(s.replicas == 1);
  CHECK(s.image == "cenv/base:bookworm");
  CHECK(s.command == std::vector<std::string>{"sh", "-c", "echo out"});
  CHECK(s.working_dir == "/tmp");
  CHECK(std::find(s.env.begin(), s.env.end(), "GREETING=hi") != s.env.end());
  CHECK(label_value(s.labels, kLabelUid) == run.uid());
  CHECK(label_value(s.labels, kLabelAttempt) == "1");
  CHECK(label_value(s.container_labels, kLabelUid) == run.uid());
  CHECK(label_value(s.container_labels, kLabelAttempt).empty());

  auto done = bed.get("hello");
  REQUIRE(done.ok());
  CHECK(bed.stored_output(*done, LogStream::kStdout) == "out\n");
  CHECK(bed.stored_output(*done, LogStream::kStderr) == "err\n");
  CHECK(status_int(*done, "exitCode") == 0);
  CHECK(status_int(*done, "logBytes") == 8);
  CHECK(is_condition_true(*done, "Complete"));
  CHECK(bed.docker.call_count("create_container") == 0);  // no plain container
  CHECK(services(bed).empty());                           // concluded: the service went
}

TEST_CASE("CommandRun on swarm: a failing task's exit code fails the run after its retries",
          "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  std::vector<std::string> names;
  bed.docker.set_service_behavior([&](const docker::SwarmServiceSpec& spec) {
    names.push_back(spec.name);
    return FakeDockerClient::Exit{3, "", "boom\n"};
  });
  bed.run("flaky", command({"false"}, {{"backoffLimit", 1}}));
  bed.drive("flaky", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  CHECK(names == std::vector<std::string>{"cenv-dev-flaky_1", "cenv-dev-flaky_2"});
  auto failed = bed.get("flaky");
  REQUIRE(failed.ok());
  CHECK(status_int(*failed, "exitCode") == 3);
  CHECK(status_int(*failed, "attempts") == 2);
  auto cond = get_condition(*failed, "Failed");
  REQUIRE(cond);
  CHECK(cond->reason == "NonZeroExit");
  CHECK(bed.stored_output(*failed, LogStream::kStderr) == "boom\nboom\n");
  CHECK(services(bed).empty());
}

TEST_CASE("CommandRun on swarm: timeoutSeconds stops the task (DeadlineExceeded)",
          "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  bed.tune = [](CommandRunReconcilerOptions& o) {
    o.swarm_poll_interval = std::chrono::milliseconds(20);
  };
  bed.make_reconciler();
  bed.run("slow", command({"sleep", "infinity"}, {{"timeoutSeconds", 1}}));
  bed.drive("slow", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  auto failed = bed.get("slow");
  REQUIRE(failed.ok());
  CHECK(get_condition(*failed, "Failed")->reason == "DeadlineExceeded");
  CHECK(status_int(*failed, "exitCode") == 143);
  CHECK(bed.docker.call_count("scale_service") >= 1);
  CHECK(services(bed).empty());
}

TEST_CASE("CommandRun on swarm: deleting a running run stops and removes its service",
          "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  bed.tune = [](CommandRunReconcilerOptions& o) {
    o.swarm_poll_interval = std::chrono::milliseconds(20);
  };
  bed.make_reconciler();
  bed.run("forever", command({"sleep", "infinity"}));
  bed.drive("forever", [&](const Object* o) {
    return Bed::phase(o) == "Running" && services(bed).size() == 1;
  });
  REQUIRE(bed.api.client->remove({"CommandRun", "dev", "forever"}, {}).ok());
  bed.drive("forever", [](const Object* o) { return o == nullptr; });
  CHECK(services(bed).empty());
}

TEST_CASE("CommandRun on swarm: a restarted controller follows the running service again",
          "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  bed.tune = [](CommandRunReconcilerOptions& o) {
    o.swarm_poll_interval = std::chrono::milliseconds(20);
  };
  bed.make_reconciler();
  bed.run("long", command({"sleep", "infinity"}));
  bed.drive("long", [&](const Object* o) {
    return Bed::phase(o) == "Running" && services(bed).size() == 1;
  });
  bed.reconciler->stop();  // detaches; the service keeps running
  bed.make_reconciler();
  REQUIRE(bed.docker.finish_service_task("cenv-dev-long_1", {0, "done\n", ""}).ok());
  bed.drive("long", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  CHECK(bed.docker.call_count("create_service") == 1);  // followed again, not run twice
  auto done = bed.get("long");
  REQUIRE(done.ok());
  CHECK(bed.stored_output(*done, LogStream::kStdout) == "done\n");
  CHECK(services(bed).empty());
}

TEST_CASE("CommandRun on swarm: spec.stdin is refused as InvalidSpec",
          "[reconcilers][commandrun][swarm]") {
  Bed bed;
  on_swarm(bed);
  bed.run("typed", command({"cat"}, {{"stdin", true}}));
  bed.drive("typed", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  auto failed = bed.get("typed");
  REQUIRE(failed.ok());
  auto cond = get_condition(*failed, "Failed");
  REQUIRE(cond);
  CHECK(cond->reason == "InvalidSpec");
  CHECK(cond->message.find("spec.stdin") != std::string::npos);
  CHECK(bed.docker.call_count("create_service") == 0);
}

}  // namespace
}  // namespace cenv
