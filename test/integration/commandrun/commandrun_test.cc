// CommandRuns against the real dockerd (DESIGN sections 2-4): the CommandRun reconciler under
// a Manager, on a real API and SQLite store, output read back through LogsService as the Logs
// call serves it. Every container carries io.cenv.test-run=<this process's id> and is removed
// by label when each test ends, even when an assertion fails.

#include "reconcilers/commandrun.h"

#include <openssl/sha.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/kinds.h"
#include "controller/app/api_event_source.h"
#include "controller/app/in_process_client.h"
#include "controller/app/service_logs.h"
#include "controller/docker/engine_docker_client.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/manager.h"
#include "controller/server/api_service.h"
#include "controller/server/watch_hub.h"
#include "controller/store/log_hub.h"
#include "controller/store/sqlite_store.h"
#include "reconcilers/exec_process.h"

namespace cenv {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kRunLabel = "io.cenv.test-run";

const std::string& run_id() {
  static const std::string id = [] {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%04x", rd(), rd() & 0xffff);
    return std::string(buf);
  }();
  return id;
}

// This test run's cenv instance: its containers are named cenv.it-<run id>-it-<name>.<attempt>
// and labelled with it, so test processes running at the same time (and a user's default
// instance) share no Docker name, and each controller sees only its own containers.
DockerNames names() { return DockerNames("it-" + run_id(), {{kRunLabel, run_id()}}); }

docker::DockerClient& engine() {
  static std::unique_ptr<docker::EngineDockerClient> client = [] {
    auto c = docker::EngineDockerClient::connect(docker::EngineOptions::from_environment());
    if (!c.ok()) {
      FAIL("integration tests need dockerd (scripts/start-dockerd): " << c.status().to_string());
    }
    return std::move(*c);
  }();
  return *client;
}

// A controller in this process: API + store + watch hub + the CommandRun controller.
class Controller {
 public:
  // `tune` adjusts the reconciler's options (after the fixture's own) on every start().
  explicit Controller(std::function<void(CommandRunReconcilerOptions&)> tune = {})
      : tune_(std::move(tune)) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cenv-cr-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    store_ = SqliteStore::open((dir_ / "cenv.db").string(), clock_).value();
    api_ = std::make_unique<ApiService>(*store_, KindRegistry::builtin().value(), clock_);
    hub_ = std::make_unique<WatchHub>(*store_);
    api_->set_on_commit([this] { hub_->notify(); });
    REQUIRE(api_->ensure_default_namespace().ok());
    logs_ = std::make_unique<LogHub>(*store_);
    source_ = std::make_unique<ApiEventSource>(*api_, *hub_);
    client_ = std::make_unique<ApiServiceClient>(*api_);
    connection_ = std::make_unique<DockerConnection>(engine());
    logs_service_ =
        std::make_unique<LogsService>(*api_, *logs_, docker_service_logs(*connection_, names()));
    Object env;
    env.json()["apiVersion"] = kApiVersion;
    env.json()["kind"] = "Environment";
    env.set_name("it");
    env.spec() = json::object{{"baseImage", "cenv/base:bookworm"},
                              {"variables", json::object{{"FROM_ENV", "yes"}}}};
    REQUIRE(client_->create(env).ok());
    start();
  }
  ~Controller() {
    stop();
    // Remove everything this test run created.
    auto list = engine().list_containers(
        {.all = true, .label_filters = {std::string(kRunLabel) + "=" + run_id()}});
    if (list.ok()) {
      for (const auto& c : *list) (void)engine().remove_container(c.id, {.force = true});
    }
    client_.reset();
    source_.reset();
    logs_service_.reset();
    logs_.reset();
    hub_.reset();
    api_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts the CommandRun controller (again, after stop(): a controller restart).
  void start() {
    CommandRunReconcilerOptions options;
    options.names = names();
    options.wait_interval = 200ms;
    options.backoff_base = 200ms;
    options.exec_kill_grace = 1s;
    options.exec_poll_interval = 100ms;
    if (tune_) tune_(options);
    reconciler_ =
        std::make_unique<CommandRunReconciler>(*client_, *connection_, *logs_, clock_, options);
    manager_ = std::make_unique<Manager>(*source_, steady_);
    auto& ctl = manager_->add(std::make_unique<cenv::Controller>(
        "commandrun", "CommandRun", *reconciler_, manager_->cache(), steady_));
    reconciler_->set_notify([&ctl](const Request& r) { ctl.enqueue(r); });
    REQUIRE(manager_->start().ok());
  }
  void stop() {
    if (manager_) manager_->stop();
    if (reconciler_) reconciler_->stop();
    manager_.reset();
    reconciler_.reset();
  }

  // Creates CommandRun `name`; `finalizer`, when set, holds the object after the controller
  // is done with it (the test removes it with release()).
  Object run(const std::string& name, std::vector<std::string> cmd, json::object spec = {},
             const std::string& finalizer = "") {
    Object o;
    o.json()["apiVersion"] = kApiVersion;
    o.json()["kind"] = "CommandRun";
    o.set_name(name);
    o.set_ns("it");
    if (!finalizer.empty()) add_finalizer(o, finalizer);
    json::array a;
    for (auto& s : cmd) a.emplace_back(s);
    spec["command"] = std::move(a);
    o.spec() = std::move(spec);
    auto created = client_->create(o);
    INFO(created.status().to_string());
    REQUIRE(created.ok());
    return *created;
  }

  Result<Object> get(const std::string& name) { return client_->get({"CommandRun", "it", name}); }
  Status remove(const std::string& name) { return client_->remove({"CommandRun", "it", name}, {}); }
  // Removes `finalizer` from run `name`, retrying on conflicts.
  void release(const std::string& name, const std::string& finalizer) {
    for (int i = 0; i < 50; ++i) {
      auto o = get(name);
      REQUIRE(o.ok());
      remove_finalizer(*o, finalizer);
      auto updated = client_->update(*o);
      if (updated.ok() || updated.status().code() == Code::kNotFound) return;
      REQUIRE(updated.status().code() == Code::kConflict);
    }
    FAIL("cannot remove finalizer " << finalizer << " of " << name);
  }

  static std::string phase(const Object& o) {
    return o.status_or_null() ? std::string(Object::str_field(*o.status_or_null(), "phase")) : "";
  }

  // Waits (up to `limit`) until the run's phase is `want`; returns the object.
  Object wait_phase(const std::string& name, const std::string& want,
                    std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto o = get(name);
      if (o.ok() && phase(*o) == want) return *o;
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL("CommandRun " << name << " never reached " << want << ": "
                           << (o.ok() ? o->to_json() : o.status().to_string()));
      }
      if (o.ok())
        logs_->wait(std::string(o->uid()), logs_->generation(std::string(o->uid())), 100ms);
      else
        std::this_thread::sleep_for(50ms);
    }
  }

  struct Output {
    std::string out, err, both;
    bool ended = false;
    int exit_code = 0;
    std::string phase;
  };
  // Reads the run's output as Logs serves it.
  Output logs(const std::string& name, bool follow, int64_t since = 0) {
    Output o;
    LogsQuery q{"cr", "it", name, follow, since};
    Status s = logs_service_->stream(
        q,
        [&](const LogFrame& f) {
          if (f.end) {
            o.ended = true;
            o.exit_code = f.exit_code;
            o.phase = f.phase;
            return true;
          }
          (f.stream == LogStream::kStderr ? o.err : o.out) += f.data;
          o.both += f.data;
          return true;
        },
        [] { return false; });
    INFO(s.to_string());
    REQUIRE(s.ok());
    return o;
  }

  std::vector<docker::ContainerSummary> containers_of(const Object& run) {
    auto list = engine().list_containers(
        {.all = true, .label_filters = {"io.cenv.uid=" + std::string(run.uid())}});
    REQUIRE(list.ok());
    return *list;
  }

  LogHub& hub() { return *logs_; }
  Store& store() { return *store_; }

  // A Service `name` of the test environment and a running container for it, as the Service
  // controller (not running here) would make: named and labelled so CommandRuns with
  // spec.service exec in it. It carries the test run's label (removed with the others), not
  // io.cenv.managed, so no controller takes it for its own. Returns the container id.
  std::string service_container(const std::string& name) {
    Object svc;
    svc.json()["apiVersion"] = kApiVersion;
    svc.json()["kind"] = "Service";
    svc.set_name(name);
    svc.set_ns("it");
    svc.spec() = json::object{{"image", "cenv/base:bookworm"}};
    auto created = client_->create(svc);
    INFO(created.status().to_string());
    REQUIRE(created.ok());
    docker::ContainerSpec spec;
    spec.name = names().container("it", name);
    spec.image = "cenv/base:bookworm";
    spec.cmd = {"sleep", "infinity"};
    spec.labels = {{kRunLabel, run_id()}, {std::string(kLabelUid), std::string(created->uid())}};
    auto id = engine().create_container(spec);
    INFO(id.status().to_string());
    REQUIRE(id.ok());
    REQUIRE(engine().start_container(*id).ok());
    return *id;
  }

 private:
  std::function<void(CommandRunReconcilerOptions&)> tune_;
  std::filesystem::path dir_;
  SystemClock clock_;
  MonotonicClock steady_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<LogHub> logs_;
  std::unique_ptr<LogsService> logs_service_;
  std::unique_ptr<ApiEventSource> source_;
  std::unique_ptr<ApiServiceClient> client_;
  std::unique_ptr<DockerConnection> connection_;
  std::unique_ptr<CommandRunReconciler> reconciler_;
  std::unique_ptr<Manager> manager_;
};

std::string sha256_hex(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  std::string hex;
  char b[3];
  for (unsigned char c : md) {
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  return hex;
}

TEST_CASE("CommandRun exit codes pass through, and output outlives the container",
          "[integration][commandrun]") {
  Controller c;
  c.run("ok", {"sh", "-c", "echo hello $FROM_ENV"});
  c.run("bad", {"sh", "-c", "echo failing >&2; exit 7"});
  Object ok = c.wait_phase("ok", "Succeeded");
  Object bad = c.wait_phase("bad", "Failed");
  CHECK(ok.status().at("exitCode").as_int64() == 0);
  CHECK(bad.status().at("exitCode").as_int64() == 7);
  CHECK(is_condition_true(ok, "Complete"));
  CHECK(is_condition_true(bad, "Failed"));
  // The containers go once the run has finished; the output is served from the store,
  // ending with the exit code.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!c.containers_of(ok).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(c.containers_of(ok).empty());
  auto out = c.logs("ok", false);
  CHECK(out.out == "hello yes\n");
  CHECK(out.ended);
  CHECK(out.exit_code == 0);
  CHECK(out.phase == "Succeeded");
  auto err = c.logs("bad", true);  // follow on a finished run ends at once
  CHECK(err.err == "failing\n");
  CHECK(err.ended);
  CHECK(err.exit_code == 7);
}

TEST_CASE("CommandRun keeps each stream's order when stdout and stderr interleave",
          "[integration][commandrun]") {
  Controller c;
  c.run("mixed", {"sh", "-c",
                  "i=0; while [ $i -lt 300 ]; do echo out$i; echo err$i >&2; "
                  "i=$((i+1)); done"});
  c.wait_phase("mixed", "Succeeded");
  auto o = c.logs("mixed", false);
  std::string want_out, want_err;
  for (int i = 0; i < 300; ++i) {
    want_out += "out" + std::to_string(i) + "\n";
    want_err += "err" + std::to_string(i) + "\n";
  }
  CHECK(o.out == want_out);
  CHECK(o.err == want_err);
}

TEST_CASE("CommandRun stores 10 MB of output completely", "[integration][commandrun]") {
  Controller c;
  // base64 text: Docker's json-file log keeps text lines exactly (not arbitrary bytes).
  c.run("big", {"sh", "-c",
                "head -c 7700000 /dev/urandom | base64 > /tmp/f; cat /tmp/f; "
                "sha256sum /tmp/f >&2"});
  // Follow from the start while it runs, as `cenv logs -f` does.
  auto followed = std::async(std::launch::async, [&] {
    c.wait_phase("big", "Running");
    return c.logs("big", true);
  });
  Object done = c.wait_phase("big", "Succeeded", 180s);
  auto o = followed.get();
  REQUIRE(o.out.size() > 10'000'000);
  CHECK(o.ended);
  CHECK(o.err.substr(0, 64) == sha256_hex(o.out));
  CHECK(done.status().at("logBytes").as_int64() == static_cast<int64_t>(o.both.size()));
  // A reader resuming from an offset gets exactly the rest.
  auto rest = c.logs("big", false, 5'000'000);
  CHECK(rest.both == o.both.substr(5'000'000));
}

TEST_CASE("CommandRun stores a prompt without a newline while the container still runs",
          "[integration][commandrun]") {
  Controller c;
  Object run = c.run("prompt", {"sh", "-c", "printf 'prompt> '; sleep 30"});
  const std::string uid(run.uid());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (c.store().log_summary(uid).value().bytes < 8) {
    INFO("waiting for the 8 bytes of the prompt in the store");
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    c.hub().wait(uid, c.hub().generation(uid), 100ms);
  }
  // status.logBytes follows the store while the run goes on.
  Object running = c.get("prompt").value();
  while (!running.status_or_null() || !running.status().contains("logBytes") ||
         running.status().at("logBytes").as_int64() != 8) {
    INFO(running.to_json());
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
    running = c.get("prompt").value();
  }
  CHECK(Controller::phase(running) == "Running");
  auto containers = c.containers_of(run);
  REQUIRE(containers.size() == 1);
  auto info = engine().inspect_container(containers[0].id);
  REQUIRE(info.ok());
  CHECK(info->state.running);  // the prompt arrived before the command ended
  auto o = c.logs("prompt", false);
  CHECK(o.out == "prompt> ");
  CHECK(o.err.empty());
  CHECK_FALSE(o.ended);
  REQUIRE(c.remove("prompt").ok());
  while (c.get("prompt").ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
}

TEST_CASE("CommandRun stores binary output byte for byte", "[integration][commandrun]") {
  Controller c;
  c.run("binary",
        {"sh", "-c", "head -c 65536 /dev/urandom > /tmp/f; cat /tmp/f; sha256sum /tmp/f >&2"});
  c.wait_phase("binary", "Succeeded");
  auto o = c.logs("binary", false);
  CHECK(o.out.size() == 65536);
  CHECK(o.err.substr(0, 64) == sha256_hex(o.out));
}

TEST_CASE("CommandRun is killed after timeoutSeconds", "[integration][commandrun]") {
  Controller c;
  c.run("slow", {"sh", "-c", "echo started; sleep 300"}, {{"timeoutSeconds", 1}});
  Object done = c.wait_phase("slow", "Failed");
  auto failed = get_condition(done, "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "DeadlineExceeded");
  CHECK(c.logs("slow", false).out == "started\n");
}

TEST_CASE("CommandRun retries a failed attempt backoffLimit times", "[integration][commandrun]") {
  Controller c;
  c.run("retry", {"sh", "-c", "echo try; exit 2"}, {{"backoffLimit", 2}});
  Object done = c.wait_phase("retry", "Failed");
  CHECK(done.status().at("attempts").as_int64() == 3);
  CHECK(done.status().at("exitCode").as_int64() == 2);
  CHECK(c.logs("retry", false).out == "try\ntry\ntry\n");
}

TEST_CASE("Deleting a running CommandRun kills its container", "[integration][commandrun]") {
  Controller c;
  Object run = c.run("cancel", {"sh", "-c", "echo running; sleep 300"});
  c.wait_phase("cancel", "Running");
  // The attempt is recorded Running before its container is created (so that a restarted
  // controller finds the attempt): wait for the container.
  auto created_by = std::chrono::steady_clock::now() + 30s;
  while (c.containers_of(run).empty() && std::chrono::steady_clock::now() < created_by) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(!c.containers_of(run).empty());
  // Deleting (as `cenv delete` or Ctrl-C in `cenv run` does) only marks it; the finalizer
  // kills the container, and then the run and its log go.
  REQUIRE(c.remove("cancel").ok());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (c.get("cancel").ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(c.containers_of(run).empty());
  CHECK(c.store().log_summary(std::string(run.uid())).value().bytes == 0);
}

TEST_CASE("A command missing from the image fails clearly with code 127",
          "[integration][commandrun]") {
  Controller c;
  c.run("missing", {"no-such-command", "--flag"});
  Object done = c.wait_phase("missing", "Failed");
  auto failed = get_condition(done, "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "StartError");
  CHECK_THAT(failed->message, Catch::Contains("no-such-command"));
  CHECK(done.status().at("exitCode").as_int64() == 127);
}

TEST_CASE(
    "A restarted controller re-attaches to a running CommandRun without losing or "
    "repeating output",
    "[integration][commandrun]") {
  Controller c;
  Object run = c.run("reattach", {"sh", "-c",
                                  "echo before; echo warn >&2; "
                                  "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after"});
  c.wait_phase("reattach", "Running");
  const std::string uid(run.uid());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (c.store().log_summary(uid).value().bytes < 12) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    c.hub().wait(uid, c.hub().generation(uid), 100ms);
  }
  c.stop();  // the controller goes away; the container keeps running
  auto containers = c.containers_of(run);
  REQUIRE(containers.size() == 1);
  auto exec = engine().create_exec(containers[0].id, {.cmd = {"touch", "/tmp/go"}});
  REQUIRE(exec.ok());
  REQUIRE(engine()
              .start_exec(*exec, {}, [](docker::StreamKind, std::string_view) { return true; })
              .ok());
  c.start();
  Object done = c.wait_phase("reattach", "Succeeded");
  CHECK(done.status().at("attempts").as_int64() == 1);
  auto o = c.logs("reattach", false);
  CHECK(o.out == "before\nafter\n");
  CHECK(o.err == "warn\n");
}

constexpr const char* kHold = "test.cenv.io/hold";

// A unique Service name per test run (the container name is cenv-it-<name>).
std::string service_name(const std::string& test) { return test + "-" + run_id(); }

// The exit code of `command` run with exec in `container`.
int exec_in(const std::string& container, std::vector<std::string> command) {
  auto code = run_exec_to_end(engine(), container, std::move(command));
  INFO(code.status().to_string());
  REQUIRE(code.ok());
  return *code;
}

// Waits up to 10 s until no process in `container` has `marker` in its command line.
bool gone_from(const std::string& container, const std::string& marker) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  const std::vector<std::string> probe{
      "sh", "-c",
      "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <\"$f\"; echo; done "
      "2>/dev/null | grep -v grep | grep -q -e \"$1\"",
      "sh", marker};
  while (exec_in(container, probe) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

TEST_CASE("An exec CommandRun's timeout kills its process and children in the Service's container",
          "[integration][commandrun]") {
  Controller c;
  const std::string svc = service_name("to");
  const std::string cid = c.service_container(svc);
  c.run("exec-timeout", {"sh", "-c", "echo started; sleep 301; touch /tmp/not-killed"},
        {{"service", svc}, {"timeoutSeconds", 1}});
  Object done = c.wait_phase("exec-timeout", "Failed");
  auto failed = get_condition(done, "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "DeadlineExceeded");
  // The real exit code of the process: SIGTERM (143), not a made-up one.
  CHECK(done.status().at("exitCode").as_int64() == 143);
  CHECK(c.logs("exec-timeout", false).out == "started\n");
  // The shell and its child sleep are gone; the command never went on.
  CHECK(gone_from(cid, "sleep 301"));
  CHECK(exec_in(cid, {"test", "-e", "/tmp/not-killed"}) != 0);
  // The pid file went with the process.
  CHECK(exec_in(cid, {"sh", "-c", "! ls /tmp/.cenv-exec-* 2>/dev/null"}) == 0);
}

TEST_CASE("An exec'd process that ignores SIGTERM is killed with SIGKILL after the grace period",
          "[integration][commandrun]") {
  Controller c;  // exec_kill_grace 1 s
  const std::string svc = service_name("kill");
  const std::string cid = c.service_container(svc);
  c.run("stubborn", {"sh", "-c", "trap '' TERM; echo ready; sleep 304"},
        {{"service", svc}, {"timeoutSeconds", 1}});
  Object done = c.wait_phase("stubborn", "Failed");
  CHECK(get_condition(done, "Failed")->reason == "DeadlineExceeded");
  CHECK(done.status().at("exitCode").as_int64() == 137);
  CHECK(gone_from(cid, "sleep 304"));
}

TEST_CASE("Deleting a running exec CommandRun kills its process in the Service's container",
          "[integration][commandrun]") {
  Controller c;
  const std::string svc = service_name("cancel");
  const std::string cid = c.service_container(svc);
  Object run =
      c.run("exec-cancel", {"sh", "-c", "echo running; sleep 302"}, {{"service", svc}}, kHold);
  const std::string uid(run.uid());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (c.store().log_summary(uid).value().bytes < 8) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    c.hub().wait(uid, c.hub().generation(uid), 100ms);
  }
  REQUIRE(exec_in(cid, {"sh", "-c", "ps -o args | grep -v grep | grep -q 'sleep 302'"}) == 0);
  REQUIRE(c.remove("exec-cancel").ok());
  // The test's own finalizer keeps the object once the controller has recorded the end.
  Object cancelled;
  for (;;) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    cancelled = c.get("exec-cancel").value();
    if (!has_finalizer(cancelled, kCleanupFinalizer)) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(Controller::phase(cancelled) == "Cancelled");
  CHECK(cancelled.status().at("exitCode").as_int64() == 143);  // SIGTERM, as the process saw it
  CHECK(get_condition(cancelled, "Failed")->reason == "Cancelled");
  c.release("exec-cancel", kHold);
  CHECK(gone_from(cid, "sleep 302"));
}

TEST_CASE("An exec CommandRun passes argv, stdin-less exit codes and a missing command through",
          "[integration][commandrun]") {
  Controller c;
  const std::string svc = service_name("argv");
  c.service_container(svc);
  c.run("exec-argv", {"printf", "[%s]", "a b", "", "$HOME", "\"q\"", "*"}, {{"service", svc}});
  c.run("exec-code", {"sh", "-c", "exit 9"}, {{"service", svc}});
  c.run("exec-missing", {"no-such-command"}, {{"service", svc}});
  c.wait_phase("exec-argv", "Succeeded");
  CHECK(c.logs("exec-argv", false).out == "[a b][][$HOME][\"q\"][*]");
  Object code = c.wait_phase("exec-code", "Failed");
  CHECK(code.status().at("exitCode").as_int64() == 9);
  Object missing = c.wait_phase("exec-missing", "Failed");
  CHECK(missing.status().at("exitCode").as_int64() == 127);
  CHECK_THAT(c.logs("exec-missing", false).err, Catch::Contains("no-such-command"));
}

TEST_CASE("A failed attempt is retried after the back-off delay, doubling, shown in the status",
          "[integration][commandrun]") {
  Controller c([](CommandRunReconcilerOptions& o) { o.backoff_base = 1s; });
  // Each attempt prints when it started (ms since the epoch).
  c.run("backoff", {"sh", "-c", "date +%s%N | cut -c1-13; exit 2"}, {{"backoffLimit", 2}});
  // Between attempts: Pending, Ready reason BackOff, naming the next attempt and the delay.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::optional<Condition> backoff;
  Object seen;
  while (!backoff) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto o = c.get("backoff");
    REQUIRE(o.ok());
    auto ready = get_condition(*o, "Ready");
    if (ready && ready->reason == "BackOff") {
      backoff = ready;
      seen = *o;
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  CHECK(Controller::phase(seen) == "Pending");
  CHECK(seen.status().contains("nextAttemptTime"));
  CHECK_THAT(backoff->message, Catch::Contains("attempt 2 starts in 1s"));
  Object done = c.wait_phase("backoff", "Failed");
  CHECK(done.status().at("attempts").as_int64() == 3);
  std::istringstream lines(c.logs("backoff", false).out);
  std::vector<long long> starts;
  for (std::string line; std::getline(lines, line);) starts.push_back(std::stoll(line));
  REQUIRE(starts.size() == 3);
  CHECK(starts[1] - starts[0] >= 1000);  // backoff_base
  CHECK(starts[2] - starts[1] >= 2000);  // doubled
}

TEST_CASE(
    "A restarted controller re-attaches to a running exec CommandRun: its exit code is kept, "
    "and it can still be killed",
    "[integration][commandrun]") {
  Controller c;
  const std::string svc = service_name("reexec");
  const std::string cid = c.service_container(svc);
  const std::string go = "/tmp/go-" + run_id();
  // Silent after the restart: Docker keeps its exit code.
  Object run = c.run(
      "reexec", {"sh", "-c", "echo before; while [ ! -f " + go + " ]; do sleep 0.1; done; exit 3"},
      {{"service", svc}});
  // Prints after the restart: Docker then records 126 whatever it returns; cenv says so.
  Object noisy =
      c.run("reexec-noisy",
            {"sh", "-c", "echo before; while [ ! -f " + go + " ]; do sleep 0.1; done; echo after"},
            {{"service", svc}});
  Object cancel =
      c.run("reexec-cancel", {"sh", "-c", "echo before; sleep 305"}, {{"service", svc}});
  const std::string uid(run.uid());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (const std::string& u : {uid, std::string(cancel.uid()), std::string(noisy.uid())}) {
    while (c.store().log_summary(u).value().bytes < 7) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      c.hub().wait(u, c.hub().generation(u), 100ms);
    }
  }
  c.stop();  // the execs go on in the Service's container
  c.start();
  // Re-attached: still Running, and the status says the output from now on is lost.
  for (;;) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto ready = get_condition(c.get("reexec").value(), "Ready");
    if (ready && ready->message.find("restarted") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(Controller::phase(c.get("reexec").value()) == "Running");
  REQUIRE(exec_in(cid, {"touch", go}) == 0);
  Object done = c.wait_phase("reexec", "Failed");
  CHECK(done.status().at("attempts").as_int64() == 1);  // not run again
  CHECK(done.status().at("exitCode").as_int64() == 3);  // its real exit code
  auto failed = get_condition(done, "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "NonZeroExit");
  CHECK_THAT(failed->message, Catch::Contains("not stored"));
  CHECK(c.logs("reexec", false).out == "before\n");
  Object lost = c.wait_phase("reexec-noisy", "Failed");
  auto lost_failed = get_condition(lost, "Failed");
  REQUIRE(lost_failed);
  CHECK(lost_failed->reason == "Lost");
  CHECK_THAT(lost_failed->message, Catch::Contains("126"));
  CHECK(c.logs("reexec-noisy", false).out == "before\n");  // "after" came while not attached

  // The other, re-attached too, is killed when deleted.
  REQUIRE(c.remove("reexec-cancel").ok());
  while (c.get("reexec-cancel").ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(gone_from(cid, "sleep 305"));
}

}  // namespace
}  // namespace cenv
