#include "reconcilers/commandrun.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "reconcilers/exec_process.h"
#include "test/unit/reconcilers/commandrun_bed.h"

namespace cenv {
namespace {

namespace json = boost::json;
using docker::FakeDockerClient;
using testing::command;
using testing::image;
using Bed = testing::CommandRunBed;

TEST_CASE("CommandRun runs in the environment's image with its variables, env and secrets",
          "[reconcilers][commandrun]") {
  Bed bed;
  docker::ContainerInfo seen;
  bed.docker.set_start_behavior([&](const docker::ContainerInfo& c) {
    seen = c;
    return FakeDockerClient::Exit{0, "out\n", "err\n"};
  });
  json::array env{json::object{{"name", "MODE"}, {"value", "run"}}};
  json::array secret_env{json::object{{"name", "API_TOKEN"}, {"secretKey", "TOKEN"}}};
  bed.run("hello", command({"sh", "-c", "echo out"},
                           {{"env", env}, {"secretEnv", secret_env}, {"workingDir", "/tmp"}}));
  bed.drive("hello", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });

  Object done = bed.get("hello").value();
  const json::object& st = done.status();
  CHECK(st.at("exitCode").as_int64() == 0);
  CHECK(st.at("attempts").as_int64() == 1);
  CHECK(st.at("logBytes").as_int64() == 8);
  CHECK(st.contains("startTime"));
  CHECK(st.contains("completionTime"));
  CHECK(is_condition_true(done, "Complete"));
  CHECK(is_condition_true(done, "Ready"));
  CHECK_FALSE(is_condition_true(done, "Failed"));
  CHECK(has_finalizer(done, kCleanupFinalizer));

  CHECK(seen.image == "cenv/base:bookworm");
  CHECK(seen.cmd == std::vector<std::string>{"sh", "-c", "echo out"});
  CHECK(seen.working_dir == "/tmp");
  CHECK(seen.name == "cenv-dev-hello.1");
  auto has_env = [&](const std::string& kv) {
    return std::find(seen.env.begin(), seen.env.end(), kv) != seen.env.end();
  };
  CHECK(has_env("GREETING=hi"));
  CHECK(has_env("MODE=run"));  // the run's env wins over the Environment's variables
  CHECK_FALSE(has_env("MODE=env"));
  CHECK(has_env("API_TOKEN=s3cret"));
  CHECK(seen.labels["io.cenv.managed"] == "true");
  CHECK(seen.labels["io.cenv.kind"] == "CommandRun");
  CHECK(seen.labels["io.cenv.namespace"] == "dev");
  CHECK(seen.labels["io.cenv.name"] == "hello");
  CHECK(seen.labels["io.cenv.uid"] == done.uid());
  CHECK(seen.labels["io.cenv.attempt"] == "1");
  CHECK_FALSE(seen.labels["io.cenv.spec-hash"].empty());

  CHECK(bed.stored_output(done, LogStream::kStdout) == "out\n");
  CHECK(bed.stored_output(done, LogStream::kStderr) == "err\n");
  // The finished run's container is removed; its output stays in the store.
  auto left = bed.docker.list_containers({.all = true});
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("CommandRun retries a failing command backoffLimit times, then fails with its code",
          "[reconcilers][commandrun]") {
  Bed bed;
  int starts = 0;
  bed.docker.set_start_behavior([&](const docker::ContainerInfo&) {
    ++starts;
    return FakeDockerClient::Exit{3, "try " + std::to_string(starts) + "\n", ""};
  });
  bed.run("flaky", command({"false"}, {{"backoffLimit", 2}}));
  bed.drive("flaky", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  Object done = bed.get("flaky").value();
  CHECK(starts == 3);
  CHECK(done.status().at("attempts").as_int64() == 3);
  CHECK(done.status().at("exitCode").as_int64() == 3);
  auto failed = get_condition(done, "Failed");
  REQUIRE(failed);
  CHECK(failed->status == "True");
  CHECK(failed->reason == "NonZeroExit");
  CHECK_FALSE(is_condition_true(done, "Complete"));
  // Every attempt's output is kept, in order.
  CHECK(bed.stored_output(done, LogStream::kStdout) == "try 1\ntry 2\ntry 3\n");
}

TEST_CASE("CommandRun waits Pending while its environment's image is not built yet",
          "[reconcilers][commandrun]") {
  Bed bed;
  bed.api.create("Environment", "", "bare", {{"baseImage", "cenv/later:1"}});
  bed.docker.set_start_behavior([](const docker::ContainerInfo&) {
    return FakeDockerClient::Exit{0, "", ""};
  });
  bed.api.create("CommandRun", "bare", "early", command({"true"}));
  const Request req{"CommandRun", "bare", "early"};
  ReconcileResult r = bed.reconciler->reconcile(req);
  CHECK(r.error.ok());
  CHECK(r.requeue_after > std::chrono::milliseconds(0));
  Object waiting = bed.api.client->get({"CommandRun", "bare", "early"}).value();
  CHECK(Bed::phase(&waiting) == "Pending");
  auto ready = get_condition(waiting, "Ready");
  REQUIRE(ready);
  CHECK(ready->reason == "Waiting");
  CHECK_THAT(ready->message, Catch::Contains("cenv/later:1"));
  CHECK(bed.docker.call_count("create_container") == 0);

  // Once the image is there, the run goes on.
  bed.docker.add_image(image("cenv/later:1"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string phase;
  while (phase != "Succeeded" && std::chrono::steady_clock::now() < deadline) {
    (void)bed.reconciler->reconcile(req);
    Object o = bed.api.client->get({"CommandRun", "bare", "early"}).value();
    phase = Bed::phase(&o);
    std::unique_lock lock(bed.mu);
    bed.notified_cv.wait_for(lock, std::chrono::milliseconds(20));
  }
  CHECK(phase == "Succeeded");
}

TEST_CASE("CommandRun with a missing service fails at once, saying which",
          "[reconcilers][commandrun]") {
  Bed bed;
  bed.run("exec", command({"true"}, {{"service", "nope"}}));
  bed.drive("exec", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  auto failed = get_condition(bed.get("exec").value(), "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "ServiceNotFound");
  CHECK_THAT(failed->message, Catch::Contains("\"nope\""));
}

TEST_CASE("CommandRun naming a secret the Environment lacks fails at once, naming the field",
          "[reconcilers][commandrun]") {
  Bed bed;
  json::array secret_env{json::object{{"name", "A"}, {"secretKey", "TOKEN"}},
                         json::object{{"name", "B"}, {"secretKey", "NOPE"}}};
  bed.run("nosecret", command({"true"}, {{"secretEnv", secret_env}}));
  bed.drive("nosecret", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  auto failed = get_condition(bed.get("nosecret").value(), "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "InvalidSpec");
  // The same message as a Service's (container_env.h).
  CHECK(failed->message == "spec.secretEnv[1].secretKey: Environment dev has no secret \"NOPE\"");
  CHECK(bed.docker.call_count("create_container") == 0);
}

TEST_CASE("Deleting a running CommandRun kills it, then lets it go", "[reconcilers][commandrun]") {
  Bed bed;  // the default start behavior keeps containers running
  bed.run("forever", command({"sleep", "1000"}));
  bed.drive("forever", [](const Object* o) { return Bed::phase(o) == "Running"; });
  REQUIRE(bed.api.client->remove({"CommandRun", "dev", "forever"}, {}).ok());
  bed.drive("forever", [](const Object* o) { return o == nullptr; });
  CHECK(bed.docker.call_count("kill_container") >= 1);
  auto left = bed.docker.list_containers({.all = true});
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("CommandRun times out after timeoutSeconds", "[reconcilers][commandrun]") {
  Bed bed;
  bed.run("slow", command({"sleep", "1000"}, {{"timeoutSeconds", 1}}));
  bed.drive("slow", [](const Object* o) { return Bed::phase(o) == "Failed"; });
  auto failed = get_condition(bed.get("slow").value(), "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "DeadlineExceeded");
}

TEST_CASE(
    "A restarted reconciler re-attaches to the running container without losing or "
    "repeating output",
    "[reconcilers][commandrun]") {
  Bed bed;
  bed.run("long", command({"sh", "-c", "work"}));
  bed.drive("long", [](const Object* o) { return Bed::phase(o) == "Running"; });
  // The attempt's thread creates the container after the status says Running.
  auto containers = bed.docker.list_containers({.all = true});
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       containers.ok() && containers->empty() && std::chrono::steady_clock::now() < until;
       containers = bed.docker.list_containers({.all = true})) {
    std::unique_lock lock(bed.mu);
    bed.notified_cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  REQUIRE(containers.ok());
  REQUIRE(containers->size() == 1);
  const std::string id = containers->front().id;
  const std::string uid(bed.get("long").value().uid());
  REQUIRE(bed.docker.append_output(id, docker::StreamKind::kStdout, "one\n").ok());
  REQUIRE(bed.docker.append_output(id, docker::StreamKind::kStderr, "warn\n").ok());
  // Wait until the first reconciler has stored it, then stop it (a controller restart).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (bed.api.store->log_summary(uid).value().bytes < 9 &&
         std::chrono::steady_clock::now() < deadline) {
    bed.logs.wait(uid, bed.logs.generation(uid), std::chrono::milliseconds(50));
  }
  bed.reconciler->stop();
  REQUIRE(bed.docker.append_output(id, docker::StreamKind::kStdout, "two\n").ok());

  bed.make_reconciler();
  bed.drive("long", [](const Object* o) { return Bed::phase(o) == "Running"; });
  REQUIRE(bed.docker.exit_container(id, 0).ok());
  bed.drive("long", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  Object done = bed.get("long").value();
  CHECK(done.status().at("attempts").as_int64() == 1);  // not started again
  CHECK(bed.docker.call_count("create_container") == 1);
  CHECK(bed.stored_output(done, LogStream::kStdout) == "one\ntwo\n");
  CHECK(bed.stored_output(done, LogStream::kStderr) == "warn\n");
}

TEST_CASE(
    "A new container's output comes through attach, set up before the start: a prompt "
    "without a newline is stored while the container runs",
    "[reconcilers][commandrun]") {
  Bed bed;
  // `docker logs` would hold the unfinished line back; here it is not even available.
  bed.docker.fail_next("container_logs", Status::Unavailable("logs are not used"), 1000);
  bed.run("prompt", command({"sh", "-c", "printf 'prompt> '; sleep 30"}));
  bed.drive("prompt", [](const Object* o) { return Bed::phase(o) == "Running"; });
  auto containers = bed.docker.list_containers({.all = true});
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       containers.ok() && (containers->empty() || containers->front().state != "running") &&
       std::chrono::steady_clock::now() < until;
       containers = bed.docker.list_containers({.all = true})) {
    std::unique_lock lock(bed.mu);
    bed.notified_cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  REQUIRE(containers.ok());
  REQUIRE(containers->size() == 1);
  const std::string id = containers->front().id;
  REQUIRE(bed.docker.append_output(id, docker::StreamKind::kStdout, "prompt> ").ok());
  // status.logBytes follows the store while the container still runs.
  bed.drive("prompt", [](const Object* o) {
    return o && o->status_or_null() && o->status_or_null()->contains("logBytes") &&
           o->status_or_null()->at("logBytes").as_int64() == 8;
  });
  Object running = bed.get("prompt").value();
  CHECK(Bed::phase(&running) == "Running");
  CHECK(bed.docker.inspect_container(id).value().state.running);
  CHECK(bed.stored_output(running, LogStream::kStdout) == "prompt> ");

  // Attached before it was started; the logs were never needed.
  auto calls = bed.docker.calls();
  auto attach = std::find(calls.begin(), calls.end(), "attach_container");
  auto start = std::find(calls.begin(), calls.end(), "start_container");
  REQUIRE(attach != calls.end());
  REQUIRE(start != calls.end());
  CHECK(attach < start);
  CHECK(bed.docker.call_count("container_logs") == 0);

  REQUIRE(bed.docker.append_output(id, docker::StreamKind::kStderr, "bye\n").ok());
  REQUIRE(bed.docker.exit_container(id, 0).ok());
  bed.drive("prompt", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  Object done = bed.get("prompt").value();
  CHECK(done.status().at("logBytes").as_int64() == 12);
  CHECK(bed.stored_output(done, LogStream::kStdout) == "prompt> ");
  CHECK(bed.stored_output(done, LogStream::kStderr) == "bye\n");
}

TEST_CASE("When attach fails, a new container's output is followed through its logs",
          "[reconcilers][commandrun]") {
  Bed bed;
  bed.docker.fail_next("attach_container", Status::Unavailable("attach refused"));
  bed.docker.set_start_behavior([](const docker::ContainerInfo&) {
    return FakeDockerClient::Exit{0, "out\n", "err\n"};
  });
  bed.run("fallback", command({"true"}));
  bed.drive("fallback", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  Object done = bed.get("fallback").value();
  CHECK(bed.docker.call_count("container_logs") >= 1);
  CHECK(bed.stored_output(done, LogStream::kStdout) == "out\n");
  CHECK(bed.stored_output(done, LogStream::kStderr) == "err\n");
}

TEST_CASE("A finished CommandRun is deleted ttlSecondsAfterFinished later",
          "[reconcilers][commandrun]") {
  Bed bed;
  bed.docker.set_start_behavior([](const docker::ContainerInfo&) {
    return FakeDockerClient::Exit{0, "x", ""};
  });
  bed.run("brief", command({"true"}, {{"ttlSecondsAfterFinished", 0}}));
  bed.drive("brief", [](const Object* o) { return o == nullptr; });
}

TEST_CASE("Retries back off as Kubernetes Jobs do: the base, doubling, capped",
          "[reconcilers][commandrun]") {
  using std::chrono::milliseconds;
  CommandRunReconcilerOptions o;  // 10 s, at most 6 min
  struct Row {
    int failures;
    milliseconds want;
  };
  for (Row row : {Row{1, milliseconds(10'000)}, Row{2, milliseconds(20'000)},
                  Row{3, milliseconds(40'000)}, Row{6, milliseconds(320'000)},
                  Row{7, milliseconds(360'000)}, Row{60, milliseconds(360'000)}}) {
    INFO("failures " << row.failures);
    CHECK(retry_delay(o, row.failures) == row.want);
  }
  o.backoff_base = milliseconds(200);
  o.backoff_max = milliseconds(500);
  CHECK(retry_delay(o, 1) == milliseconds(200));
  CHECK(retry_delay(o, 2) == milliseconds(400));
  CHECK(retry_delay(o, 3) == milliseconds(500));
}

TEST_CASE("A failed attempt waits out the back-off, Pending with reason BackOff",
          "[reconcilers][commandrun]") {
  Bed bed;
  bed.tune = [](CommandRunReconcilerOptions& o) { o.backoff_base = std::chrono::seconds(5); };
  bed.make_reconciler();
  bed.docker.set_start_behavior([](const docker::ContainerInfo&) {
    return FakeDockerClient::Exit{4, "", ""};
  });
  bed.run("later", command({"false"}, {{"backoffLimit", 1}}));
  bed.drive("later", [](const Object* o) {
    auto ready = o ? get_condition(*o, "Ready") : std::nullopt;
    return ready && ready->reason == "BackOff";
  });
  Object waiting = bed.get("later").value();
  CHECK(Bed::phase(&waiting) == "Pending");
  CHECK(waiting.status().at("attempts").as_int64() == 1);
  CHECK(waiting.status().at("exitCode").as_int64() == 4);
  CHECK(waiting.status().contains("nextAttemptTime"));
  CHECK_THAT(get_condition(waiting, "Ready")->message,
             Catch::Contains("exited with code 4") && Catch::Contains("attempt 2 starts in 5s"));
  CHECK_FALSE(is_condition_true(waiting, "Failed"));
  // Reconciled again (a resync, a restarted controller): still waiting, for the rest of it.
  bed.make_reconciler();
  ReconcileResult r = bed.reconciler->reconcile({"CommandRun", "dev", "later"});
  CHECK(r.error.ok());
  CHECK(r.requeue_after > std::chrono::milliseconds(3000));
  CHECK(r.requeue_after <= std::chrono::milliseconds(5000));
  CHECK(bed.docker.call_count("create_container") == 1);
}

// A Service "web" of environment dev with a running container, as the Service reconciler
// makes it (name and uid label). Returns the container id.
std::string service_container(Bed& bed) {
  Object svc = bed.api.create("Service", "dev", "web", {{"image", "cenv/base:bookworm"}});
  docker::ContainerSpec spec;
  spec.name = DockerNames().container("dev", "web");
  spec.image = "cenv/base:bookworm";
  spec.labels = {{std::string(kLabelUid), std::string(svc.uid())}};
  auto id = bed.docker.create_container(spec);
  REQUIRE(id.ok());
  REQUIRE(bed.docker.start_container(*id).ok());
  return *id;
}

// Scripted processes of the fake's execs: the shell probe, the run's command, and the signal
// execs, which end a blocked command with 128 + the signal unless it ignores that signal.
struct ExecScript {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<std::string>> commands;  // guarded by mu; every exec, in order
  std::vector<std::string> signals;                // guarded by mu; TERM, KILL, ...
  bool has_shell = true;
  bool block = false;     // the command runs until a signal ends it
  std::string ignored;    // a signal the command ignores
  std::string killed_by;  // guarded by mu

  FakeDockerClient::ExecBehavior behavior() {
    return [this](const docker::ContainerInfo&, const docker::ExecSpec& spec,
                  const std::string&) -> FakeDockerClient::Exit {
      std::unique_lock lock(mu);
      commands.push_back(spec.cmd);
      cv.notify_all();
      const std::string script = spec.cmd.size() > 2 ? spec.cmd[2] : "";
      if (spec.cmd[0] == "/bin/sh" && script == "exit 0") return {has_shell ? 0 : 127, "", ""};
      if (spec.cmd[0] == "/bin/sh" && script.find("kill -s") != std::string::npos) {
        const std::string sig = spec.cmd.back();
        signals.push_back(sig);
        if (sig != ignored) killed_by = sig;
        cv.notify_all();
        return {0, "", ""};
      }
      if (spec.cmd[0] == "/bin/sh" && script.find("rm -f") != std::string::npos) return {};
      if (!block) return {0, "hi\n", ""};
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return !killed_by.empty(); });
      return {killed_by == "KILL" ? 137 : 143, "", ""};
    };
  }
};

// Web's running container, its execs played by `script` (set up before this call).
void exec_in_web(Bed& bed, ExecScript& script) {
  bed.docker.set_exec_behavior(script.behavior());
  service_container(bed);
}

// Runs `name` (sleep 1000 in web's container, timeoutSeconds 1) with `script` blocking until a
// signal ends the command; returns the run once it failed with DeadlineExceeded.
Object timed_out_exec_run(Bed& bed, ExecScript& script, const std::string& name) {
  script.block = true;
  exec_in_web(bed, script);
  bed.run(name, command({"sleep", "1000"}, {{"service", "web"}, {"timeoutSeconds", 1}}));
  bed.drive(name, [](const Object* o) { return Bed::phase(o) == "Failed"; });
  Object done = bed.get(name).value();
  CHECK(get_condition(done, "Failed")->reason == "DeadlineExceeded");
  return done;
}

TEST_CASE("An exec run goes through the pid-recording wrapper when the container has /bin/sh",
          "[reconcilers][commandrun]") {
  Bed bed;
  ExecScript script;
  exec_in_web(bed, script);
  Object run = bed.run("hello", command({"echo", "a b", "$HOME"}, {{"service", "web"}}));
  bed.drive("hello", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  Object done = bed.get("hello").value();
  CHECK(bed.stored_output(done, LogStream::kStdout) == "hi\n");
  CHECK_FALSE(done.status().contains("exec"));  // only while it runs
  std::lock_guard lock(script.mu);
  REQUIRE(script.commands.size() == 3);  // probe, command, pid file removal
  const std::string pid_file = exec_pid_file(run.uid(), 1);
  CHECK(script.commands[1] == wrap_exec_command(pid_file, {"echo", "a b", "$HOME"}));
  CHECK(script.commands[1].back() == "$HOME");  // arguments, never parsed by a shell
  CHECK(script.commands[2].back() == pid_file);
}

TEST_CASE("Without /bin/sh in the container an exec run's command runs as it is",
          "[reconcilers][commandrun]") {
  Bed bed;
  ExecScript script;
  script.has_shell = false;
  exec_in_web(bed, script);
  bed.run("bare", command({"echo", "hi"}, {{"service", "web"}}));
  bed.drive("bare", [](const Object* o) { return Bed::phase(o) == "Succeeded"; });
  std::lock_guard lock(script.mu);
  REQUIRE(script.commands.size() == 2);
  CHECK(script.commands[1] == std::vector<std::string>{"echo", "hi"});
}

TEST_CASE("An exec run's timeout sends SIGTERM to its process and records the exit it caused",
          "[reconcilers][commandrun]") {
  Bed bed;
  ExecScript script;
  Object done = timed_out_exec_run(bed, script, "slow");
  CHECK(done.status().at("exitCode").as_int64() == 143);
  std::lock_guard lock(script.mu);
  CHECK(script.signals == std::vector<std::string>{"TERM"});
}

TEST_CASE("An exec'd process that ignores SIGTERM gets SIGKILL after exec_kill_grace",
          "[reconcilers][commandrun]") {
  Bed bed;  // exec_kill_grace 200 ms
  ExecScript script;
  script.ignored = "TERM";
  Object done = timed_out_exec_run(bed, script, "stubborn");
  CHECK(done.status().at("exitCode").as_int64() == 137);
  std::lock_guard lock(script.mu);
  CHECK(script.signals == std::vector<std::string>{"TERM", "KILL"});
}

TEST_CASE("Deleting a running exec run kills its process, then lets it go",
          "[reconcilers][commandrun]") {
  Bed bed;
  // The run shows status.exec just before its exec starts; a signal is tried again until the
  // process runs, for up to the grace period: a long one, so that a slow start (a loaded
  // machine, a sanitizer build) is not mistaken for a process that cannot be signalled.
  bed.tune = [](CommandRunReconcilerOptions& o) { o.exec_kill_grace = std::chrono::seconds(10); };
  bed.make_reconciler();
  ExecScript script;
  script.block = true;
  exec_in_web(bed, script);
  bed.run("forever", command({"sleep", "1000"}, {{"service", "web"}}));
  bed.drive("forever", [](const Object* o) {
    return Bed::phase(o) == "Running" && o->status_or_null()->contains("exec");
  });
  {
    // status.exec is written just before the exec starts; a delete before it starts cancels
    // the run without starting it (no process, no signal). Delete once it runs.
    std::unique_lock lock(script.mu);
    REQUIRE(script.cv.wait_for(lock, std::chrono::seconds(30),
                               [&] { return script.commands.size() >= 2; }));
  }
  REQUIRE(bed.api.client->remove({"CommandRun", "dev", "forever"}, {}).ok());
  bed.drive("forever", [](const Object* o) { return o == nullptr; });
  std::lock_guard lock(script.mu);
  CHECK(script.signals == std::vector<std::string>{"TERM"});
}

}  // namespace
}  // namespace cenv
