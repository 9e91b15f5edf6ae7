// EngineDockerClient against the real dockerd (DESIGN section 6), with cenv/base:bookworm.
// Everything these tests create carries io.cenv.test-run=<this process's id> and is removed
// by label at the end of each test (RunCleanup), even when an assertion fails; nothing else
// is touched. Containers run on a labelled network of their own or with network "none":
// they never depend on Docker's default bridge.

#include "controller/docker/engine_docker_client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace cenv::docker {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kImage = "cenv/base:bookworm";
constexpr const char* kRunLabel = "io.cenv.test-run";

// A random id for this test process.
const std::string& run_id() {
  static const std::string id = [] {
    std::random_device rd;
    std::mt19937_64 gen(rd());
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
    return std::string(buf, 12);
  }();
  return id;
}

std::string run_filter() { return std::string(kRunLabel) + "=" + run_id(); }

Labels test_labels(Labels extra = {}) {
  extra[kRunLabel] = run_id();
  return extra;
}

// A name no other test (or run) uses: "cenv-test-<run>-<what>-<n>".
std::string unique_name(const std::string& what) {
  static std::atomic<int> counter{0};
  return "cenv-test-" + run_id() + "-" + what + "-" + std::to_string(++counter);
}

EngineDockerClient& docker() {
  static std::unique_ptr<EngineDockerClient> client = [] {
    auto c = EngineDockerClient::connect(EngineOptions::from_environment());
    if (!c.ok()) {
      std::cerr << "integration tests need dockerd (scripts/start-dockerd): "
                << c.status().to_string() << "\n";
      std::abort();
    }
    return std::move(*c);
  }();
  return *client;
}

// Removes every container, network, volume and image labelled with this run's id.
class RunCleanup {
 public:
  RunCleanup() = default;
  RunCleanup(const RunCleanup&) = delete;
  RunCleanup& operator=(const RunCleanup&) = delete;
  ~RunCleanup() {
    DockerClient& d = docker();
    ListContainersOptions all;
    all.all = true;
    all.label_filters = {run_filter()};
    if (auto cs = d.list_containers(all); cs.ok()) {
      for (const auto& c : *cs) report(d.remove_container(c.id, {.force = true, .volumes = true}));
    }
    if (auto ns = d.list_networks({run_filter()}); ns.ok()) {
      for (const auto& n : *ns) report(d.remove_network(n.id));
    }
    if (auto vs = d.list_volumes({run_filter()}); vs.ok()) {
      for (const auto& v : *vs) report(d.remove_volume(v.name, true));
    }
    if (auto is = d.list_images({.label_filters = {run_filter()}}); is.ok()) {
      for (const auto& i : *is) report(d.remove_image(i.id, {.force = true}));
    }
  }

 private:
  static void report(const Status& s) {
    if (!s.ok() && s.code() != Code::kNotFound) {
      std::cerr << "cleanup: " << s.to_string() << "\n";
    }
  }
};

// A container spec with this run's label, on `network` ("none" by default).
ContainerSpec spec_for(const std::string& what, std::vector<std::string> cmd,
                       const std::string& network = "none") {
  ContainerSpec s;
  s.name = unique_name(what);
  s.image = kImage;
  s.cmd = std::move(cmd);
  s.labels = test_labels();
  s.network = network;
  return s;
}

std::string make_network(const std::string& what) {
  NetworkSpec n;
  n.name = unique_name(what);
  n.labels = test_labels();
  auto id = docker().create_network(n);
  REQUIRE(id.ok());
  return n.name;
}

struct Output {
  std::string out;
  std::string err;
  OutputCallback callback() {
    return [this](StreamKind kind, std::string_view bytes) {
      (kind == StreamKind::kStderr ? err : out).append(bytes);
      return true;
    };
  }
};

// Runs `spec` to completion; returns its exit code and output.
struct Ran {
  int exit_code = -1;
  Output output;
};
Ran run_to_exit(const ContainerSpec& spec) {
  Ran ran;
  auto id = docker().create_container(spec);
  REQUIRE(id.ok());
  REQUIRE(docker().start_container(*id).ok());
  auto waited = docker().wait_container(*id, WaitCondition::kNotRunning, {}, 60s);
  REQUIRE(waited.ok());
  ran.exit_code = waited->exit_code;
  REQUIRE(docker().container_logs(*id, {}, ran.output.callback()).ok());
  REQUIRE(docker().remove_container(*id).ok());
  return ran;
}

// A minimal ustar archive of regular files.
std::string tar_of(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [name, content] : files) {
    char h[512] = {};
    std::snprintf(h, 100, "%s", name.c_str());
    std::snprintf(h + 100, 8, "%07o", 0644);
    std::snprintf(h + 108, 8, "%07o", 0);
    std::snprintf(h + 116, 8, "%07o", 0);
    std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(content.size()));
    std::snprintf(h + 136, 12, "%011o", 0);
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    out.append(h, sizeof h);
    out.append(content);
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

TEST_CASE("EngineDockerClient negotiates the API version with the daemon") {
  EngineDockerClient& d = docker();
  REQUIRE(d.ping().ok());
  auto v = d.version();
  REQUIRE(v.ok());
  CHECK_FALSE(v->server_version.empty());
  CHECK(v->os == "linux");
  auto at_most = [](const std::string& a, const std::string& b) {
    int a1 = 0, a2 = 0, b1 = 0, b2 = 0;
    std::sscanf(a.c_str(), "%d.%d", &a1, &a2);
    std::sscanf(b.c_str(), "%d.%d", &b1, &b2);
    return std::pair(a1, a2) <= std::pair(b1, b2);
  };
  CHECK(at_most(d.api_version(), EngineDockerClient::kMaxApiVersion));
  CHECK(at_most(EngineDockerClient::kMinApiVersion, d.api_version()));
  CHECK(v->api_version == d.api_version());
  // This daemon (20.10, API 1.41) is older than our newest: its version is the one used.
  if (at_most(d.api_version(), "1.42")) {
    auto raw = EngineDockerClient::connect(EngineOptions::from_environment());
    REQUIRE(raw.ok());
    CHECK((*raw)->api_version() == d.api_version());
  }

  EngineOptions pinned = EngineOptions::from_environment();
  pinned.api_version = "1.40";
  auto old = EngineDockerClient::connect(pinned);
  REQUIRE(old.ok());
  CHECK((*old)->api_version() == "1.40");
  CHECK((*old)->inspect_image(kImage).ok());
}

TEST_CASE("EngineDockerClient runs a command: exit code, stdout and stderr apart, inspect") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  ContainerSpec spec = spec_for("exit3", {"sh", "-c", "echo out; echo err >&2; exit 3"});
  spec.labels["io.cenv.kind"] = "CommandRun";
  spec.env = {"GREETING=hello"};
  spec.working_dir = "/tmp";
  auto id = d.create_container(spec);
  REQUIRE(id.ok());

  auto created = d.inspect_container(*id);
  REQUIRE(created.ok());
  CHECK(created->state.status == "created");
  CHECK(created->name == spec.name);
  CHECK(created->image == kImage);
  CHECK(created->labels.at("io.cenv.kind") == "CommandRun");
  CHECK(created->labels.at(kRunLabel) == run_id());
  CHECK(created->working_dir == "/tmp");
  CHECK(std::find(created->env.begin(), created->env.end(), "GREETING=hello") !=
        created->env.end());
  CHECK(created->cmd == spec.cmd);

  REQUIRE(d.start_container(*id).ok());
  auto waited = d.wait_container(*id, WaitCondition::kNotRunning, {}, 60s);
  REQUIRE(waited.ok());
  CHECK(waited->exit_code == 3);

  auto done = d.inspect_container(spec.name);  // by name as well as id
  REQUIRE(done.ok());
  CHECK(done->id == *id);
  CHECK(done->state.status == "exited");
  CHECK_FALSE(done->state.running);
  CHECK(done->state.exit_code == 3);
  CHECK(done->state.finished_at.rfind("0001", 0) != 0);

  Output output;
  REQUIRE(d.container_logs(*id, {}, output.callback()).ok());
  CHECK(output.out == "out\n");
  CHECK(output.err == "err\n");

  Output only_err;
  LogsOptions err_only;
  err_only.show_stdout = false;
  REQUIRE(d.container_logs(*id, err_only, only_err.callback()).ok());
  CHECK(only_err.out.empty());
  CHECK(only_err.err == "err\n");

  REQUIRE(d.remove_container(*id).ok());
  auto gone = d.inspect_container(*id);
  CHECK(gone.status().code() == Code::kNotFound);
  CHECK_THAT(gone.status().message(), Catch::Contains("No such container"));
}

TEST_CASE("EngineDockerClient keeps TTY output raw") {
  RunCleanup cleanup;
  ContainerSpec spec = spec_for("tty", {"sh", "-c", "echo on-a-tty; echo err >&2"});
  spec.tty = true;
  Ran ran = run_to_exit(spec);
  CHECK(ran.exit_code == 0);
  CHECK(ran.output.out == "on-a-tty\r\nerr\r\n");
  CHECK(ran.output.err.empty());
}

TEST_CASE("EngineDockerClient follows the logs of a running container until it exits") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  // The container prints, then blocks on its stdin until the test closes it.
  ContainerSpec spec = spec_for("follow", {"sh", "-c", "echo first; read line; echo second"});
  spec.open_stdin = true;
  spec.stdin_once = true;
  auto id = d.create_container(spec);
  REQUIRE(id.ok());

  auto stdin_pipe = std::make_shared<StdinPipe>();
  std::promise<void> attached;
  std::thread attach_thread([&] {
    AttachOptions a;
    a.stdin_pipe = stdin_pipe;
    a.on_attached = [&] { attached.set_value(); };
    Output ignored;
    (void)d.attach_container(*id, a, ignored.callback());
  });
  attached.get_future().wait();
  REQUIRE(d.start_container(*id).ok());

  std::vector<std::string> chunks;
  std::mutex mu;
  std::condition_variable cv;
  std::thread follower([&] {
    LogsOptions follow;
    follow.follow = true;
    Status s = d.container_logs(*id, follow, [&](StreamKind, std::string_view bytes) {
      std::lock_guard lock(mu);
      chunks.emplace_back(bytes);
      cv.notify_all();
      return true;
    });
    CHECK(s.ok());
  });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return !chunks.empty(); }));
    CHECK(chunks.front() == "first\n");
  }
  stdin_pipe->write("go\n");
  stdin_pipe->close();
  follower.join();  // the stream ends by itself when the container exits
  attach_thread.join();
  std::string all;
  for (const auto& c : chunks) all += c;
  CHECK(all == "first\nsecond\n");
}

TEST_CASE("EngineDockerClient cancels a log stream through its stop_token") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  ContainerSpec spec = spec_for("cancel", {"sh", "-c", "echo hi; exec sleep 600"});
  auto id = d.create_container(spec);
  REQUIRE(id.ok());
  REQUIRE(d.start_container(*id).ok());

  std::stop_source stop;
  std::promise<void> got_output;
  std::atomic<bool> first{true};
  Status result = Status::Internal("not finished");
  std::thread follower([&] {
    LogsOptions follow;
    follow.follow = true;
    result = d.container_logs(
        *id, follow,
        [&](StreamKind, std::string_view) {
          if (first.exchange(false)) got_output.set_value();
          return true;
        },
        stop.get_token());
  });
  got_output.get_future().wait();
  auto begin = SteadyClock::now();
  stop.request_stop();
  follower.join();
  CHECK(result.ok());
  CHECK(SteadyClock::now() - begin < 2s);

  // A stream stopped by its callback ends as well.
  int calls = 0;
  LogsOptions follow;
  follow.follow = true;
  CHECK(d.container_logs(*id, follow, [&](StreamKind, std::string_view) {
           ++calls;
           return false;
         }).ok());
  CHECK(calls == 1);
  REQUIRE(d.remove_container(*id, {.force = true}).ok());
}

TEST_CASE("EngineDockerClient exec: output, exit code and stdin") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  auto id = d.create_container(spec_for("exec", {"sleep", "600"}));
  REQUIRE(id.ok());

  ExecSpec not_running;
  not_running.cmd = {"true"};
  CHECK(d.create_exec(*id, not_running).status().code() == Code::kConflict);

  REQUIRE(d.start_container(*id).ok());
  ExecSpec spec;
  spec.cmd = {"sh", "-c", "echo exec-out; echo exec-err >&2; echo $MODE; exit 7"};
  spec.env = {"MODE=exec-env"};
  auto exec = d.create_exec(*id, spec);
  REQUIRE(exec.ok());
  auto before = d.inspect_exec(*exec);
  REQUIRE(before.ok());
  CHECK_FALSE(before->exit_code.has_value());

  Output output;
  REQUIRE(d.start_exec(*exec, {}, output.callback()).ok());
  CHECK(output.out == "exec-out\nexec-env\n");
  CHECK(output.err == "exec-err\n");
  auto after = d.inspect_exec(*exec);
  REQUIRE(after.ok());
  CHECK_FALSE(after->running);
  REQUIRE(after->exit_code.has_value());
  CHECK(*after->exit_code == 7);
  CHECK(after->container_id == *id);

  // stdin reaches the process, and closing it ends `cat`.
  ExecSpec cat;
  cat.cmd = {"cat"};
  cat.attach_stdin = true;
  auto cat_exec = d.create_exec(*id, cat);
  REQUIRE(cat_exec.ok());
  ExecStartOptions with_stdin;
  with_stdin.stdin_pipe = std::make_shared<StdinPipe>();
  with_stdin.stdin_pipe->write("hello through stdin\n");
  with_stdin.stdin_pipe->close();
  Output cat_output;
  REQUIRE(d.start_exec(*cat_exec, with_stdin, cat_output.callback()).ok());
  CHECK(cat_output.out == "hello through stdin\n");
  auto cat_info = d.inspect_exec(*cat_exec);
  REQUIRE(cat_info.ok());
  CHECK(cat_info->exit_code == 0);

  CHECK(d.inspect_exec("no-such-exec").status().code() == Code::kNotFound);
}

TEST_CASE("EngineDockerClient attach writes stdin and streams output") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  ContainerSpec spec = spec_for("attach", {"sh", "-c", "cat; echo done >&2"});
  spec.open_stdin = true;
  spec.stdin_once = true;
  auto id = d.create_container(spec);
  REQUIRE(id.ok());
  AttachOptions a;
  a.stdin_pipe = std::make_shared<StdinPipe>();
  a.on_attached = [&] { REQUIRE(d.start_container(*id).ok()); };
  a.stdin_pipe->write("line one\n");
  std::thread writer([pipe = a.stdin_pipe] {
    pipe->write("line two\n");
    pipe->close();
  });
  Output output;
  Status s = d.attach_container(*id, a, output.callback());
  writer.join();
  REQUIRE(s.ok());
  CHECK(output.out == "line one\nline two\n");
  CHECK(output.err == "done\n");
  auto waited = d.wait_container(*id);
  REQUIRE(waited.ok());
  CHECK(waited->exit_code == 0);
}

TEST_CASE("EngineDockerClient networks: containers reach each other by alias") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  std::string network = make_network("net");

  auto info = d.inspect_network(network);
  REQUIRE(info.ok());
  CHECK(info->driver == "bridge");
  CHECK(info->labels.at(kRunLabel) == run_id());
  NetworkSpec same;
  same.name = network;
  same.labels = test_labels();
  CHECK(d.create_network(same).status().code() == Code::kAlreadyExists);

  ContainerSpec server = spec_for("web",
                                  {"sh", "-c",
                                   "mkdir -p /www && echo hello-from-alias > /www/index.html && "
                                   "exec httpd -f -p 8080 -h /www"},
                                  network);
  server.network_aliases = {"web-alias"};
  auto server_id = d.create_container(server);
  REQUIRE(server_id.ok());
  REQUIRE(d.start_container(*server_id).ok());
  auto running = d.inspect_container(*server_id);
  REQUIRE(running.ok());
  REQUIRE(running->networks.count(network) == 1);
  const EndpointInfo& ep = running->networks.at(network);
  CHECK_FALSE(ep.ip_address.empty());
  CHECK(std::find(ep.aliases.begin(), ep.aliases.end(), "web-alias") != ep.aliases.end());

  // The client starts on another network and joins this one through connect_network; it
  // retries while httpd starts.
  std::string other = make_network("other");
  ContainerSpec client =
      spec_for("client",
               {"sh", "-c",
                "i=0; while [ $i -lt 100 ]; do wget -q -O- http://web-alias:8080/ && exit 0; "
                "i=$((i+1)); sleep 0.1; done; exit 1"},
               other);
  auto client_id = d.create_container(client);
  REQUIRE(client_id.ok());
  REQUIRE(d.connect_network(network, *client_id, {"client-alias"}).ok());
  REQUIRE(d.disconnect_network(other, *client_id).ok());
  REQUIRE(d.start_container(*client_id).ok());
  auto waited = d.wait_container(*client_id, WaitCondition::kNotRunning, {}, 60s);
  REQUIRE(waited.ok());
  Output output;
  REQUIRE(d.container_logs(*client_id, {}, output.callback()).ok());
  CHECK(waited->exit_code == 0);
  CHECK(output.out == "hello-from-alias\n");

  auto members = d.inspect_network(network);
  REQUIRE(members.ok());
  CHECK(members->containers.count(*server_id) == 1);
  auto listed = d.list_networks({run_filter()});
  REQUIRE(listed.ok());
  CHECK(std::any_of(listed->begin(), listed->end(),
                    [&](const NetworkInfo& n) { return n.name == network; }));

  // A network in use cannot be removed; Docker says why.
  Status busy = d.remove_network(network);
  CHECK_FALSE(busy.ok());
  CHECK((busy.code() == Code::kForbidden || busy.code() == Code::kConflict));
  CHECK_THAT(busy.message(), Catch::Contains("active endpoints"));

  REQUIRE(d.remove_container(*server_id, {.force = true}).ok());
  REQUIRE(d.remove_container(*client_id, {.force = true}).ok());
  REQUIRE(d.remove_network(network).ok());
  CHECK(d.inspect_network(network).status().code() == Code::kNotFound);
}

TEST_CASE("EngineDockerClient volumes persist across container replacement") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  VolumeSpec vs;
  vs.name = unique_name("data");
  vs.labels = test_labels({{"io.cenv.name", "data"}});
  auto volume = d.create_volume(vs);
  REQUIRE(volume.ok());
  CHECK(volume->name == vs.name);
  CHECK(volume->labels.at("io.cenv.name") == "data");
  auto again = d.create_volume(vs);  // creating an existing volume returns it
  REQUIRE(again.ok());
  CHECK(again->name == vs.name);

  Mount mount{Mount::Type::kVolume, vs.name, "/data", false};
  ContainerSpec writer = spec_for("writer", {"sh", "-c", "echo persisted > /data/f"});
  writer.mounts = {mount};
  CHECK(run_to_exit(writer).exit_code == 0);

  ContainerSpec reader = spec_for("reader", {"cat", "/data/f"});
  reader.mounts = {mount};
  reader.mounts[0].read_only = true;
  Ran read = run_to_exit(reader);
  CHECK(read.exit_code == 0);
  CHECK(read.output.out == "persisted\n");

  ContainerSpec holder = spec_for("holder", {"true"});
  holder.mounts = {mount};
  auto holder_id = d.create_container(holder);
  REQUIRE(holder_id.ok());
  Status in_use = d.remove_volume(vs.name);
  CHECK(in_use.code() == Code::kConflict);
  CHECK_THAT(in_use.message(), Catch::Contains("in use"));
  REQUIRE(d.remove_container(*holder_id).ok());

  auto listed = d.list_volumes({run_filter(), "io.cenv.name=data"});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().name == vs.name);
  REQUIRE(d.remove_volume(vs.name).ok());
  CHECK(d.inspect_volume(vs.name).status().code() == Code::kNotFound);
}

TEST_CASE("EngineDockerClient lists containers by label") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  std::string group = unique_name("group");
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    ContainerSpec s = spec_for("listed", {"sleep", "600"});
    s.labels["io.cenv.group"] = group;
    auto id = d.create_container(s);
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  auto other = d.create_container(spec_for("unlisted", {"sleep", "600"}));
  REQUIRE(other.ok());

  ListContainersOptions o;
  o.all = true;
  o.label_filters = {run_filter(), "io.cenv.group=" + group};
  auto all = d.list_containers(o);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  for (const auto& c : *all) {
    CHECK(std::find(ids.begin(), ids.end(), c.id) != ids.end());
    CHECK(c.state == "created");
    CHECK(c.labels.at("io.cenv.group") == group);
    CHECK(c.name.rfind("cenv-test-", 0) == 0);
  }
  o.all = false;  // running only
  auto running = d.list_containers(o);
  REQUIRE(running.ok());
  CHECK(running->empty());
  REQUIRE(d.start_container(ids[0]).ok());
  running = d.list_containers(o);
  REQUIRE(running.ok());
  REQUIRE(running->size() == 1);
  CHECK(running->front().id == ids[0]);
  CHECK(running->front().state == "running");

  ListContainersOptions by_key;
  by_key.all = true;
  by_key.label_filters = {run_filter(), "io.cenv.group"};
  auto keyed = d.list_containers(by_key);
  REQUIRE(keyed.ok());
  CHECK(keyed->size() == 2);
}

TEST_CASE("EngineDockerClient kill, stop and restart semantics") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  // sleep as PID 1 ignores SIGTERM: stop has to kill it after the timeout.
  auto id = d.create_container(spec_for("stubborn", {"sleep", "600"}));
  REQUIRE(id.ok());
  CHECK(d.kill_container(*id).code() == Code::kConflict);  // not running yet
  REQUIRE(d.start_container(*id).ok());
  CHECK(d.start_container(*id).ok());  // already running: 304, Ok
  Status running_remove = d.remove_container(*id);
  CHECK(running_remove.code() == Code::kConflict);
  CHECK_THAT(running_remove.message(), Catch::Contains("running container"));

  REQUIRE(d.stop_container(*id, 1).ok());
  auto stopped = d.inspect_container(*id);
  REQUIRE(stopped.ok());
  CHECK_FALSE(stopped->state.running);
  CHECK(stopped->state.exit_code == 137);
  CHECK(d.stop_container(*id, 1).ok());  // already stopped: 304, Ok

  Status not_running = d.kill_container(*id, "SIGKILL");
  CHECK(not_running.code() == Code::kConflict);
  CHECK_THAT(not_running.message(), Catch::Contains("is not running"));

  // Restart, then kill with a signal the process does not handle.
  REQUIRE(d.start_container(*id).ok());
  REQUIRE(d.kill_container(*id, "SIGKILL").ok());
  auto killed = d.wait_container(*id, WaitCondition::kNotRunning, {}, 30s);
  REQUIRE(killed.ok());
  CHECK(killed->exit_code == 137);
  auto restarted = d.inspect_container(*id);
  REQUIRE(restarted.ok());

  // With an init process, SIGTERM ends the container (exit 143, not the 137 of the SIGKILL
  // that would follow the 30 s grace). Stopped only once the command runs: a SIGTERM that
  // reaches the init before it set up its signal handling would be ignored.
  ContainerSpec with_init = spec_for("init", {"sh", "-c", "echo up; exec sleep 600"});
  with_init.init = true;
  auto init_id = d.create_container(with_init);
  REQUIRE(init_id.ok());
  REQUIRE(d.start_container(*init_id).ok());
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    Output said;
    REQUIRE(d.container_logs(*init_id, {}, said.callback()).ok());
    up = said.out == "up\n";
    if (!up) std::this_thread::sleep_for(100ms);
  }
  REQUIRE(up);
  REQUIRE(d.stop_container(*init_id, 30).ok());
  auto termed = d.inspect_container(*init_id);
  REQUIRE(termed.ok());
  CHECK(termed->state.exit_code == 143);

  std::string new_name = unique_name("renamed");
  REQUIRE(d.rename_container(*init_id, new_name).ok());
  CHECK(d.inspect_container(new_name).ok());
  CHECK(d.rename_container(*id, new_name).code() == Code::kAlreadyExists);

  REQUIRE(d.remove_container(*id, {.force = true}).ok());
  REQUIRE(d.remove_container(*init_id).ok());
}

TEST_CASE("EngineDockerClient event stream delivers start and die of a labelled container") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  std::string marker = unique_name("events");

  std::mutex mu;
  std::condition_variable cv;
  bool subscribed = false;
  std::vector<DockerEvent> seen;
  SteadyClock::time_point die_seen;
  std::stop_source stop;
  Status result = Status::Internal("not finished");
  std::jthread watcher([&] {
    EventsOptions o;
    o.types = {"container"};
    o.label_filters = {run_filter(), "io.cenv.marker=" + marker};
    o.on_subscribed = [&] {
      std::lock_guard lock(mu);
      subscribed = true;
      cv.notify_all();
    };
    result = d.events(
        o,
        [&](const DockerEvent& e) {
          std::lock_guard lock(mu);
          seen.push_back(e);
          if (e.action == "die") die_seen = SteadyClock::now();
          cv.notify_all();
          return true;
        },
        stop.get_token());
  });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return subscribed; }));
  }
  // Another container of this run without the marker must not show up.
  auto unrelated = d.create_container(spec_for("unmarked", {"true"}));
  REQUIRE(unrelated.ok());

  ContainerSpec spec = spec_for("evented", {"sh", "-c", "exit 4"});
  spec.labels["io.cenv.marker"] = marker;
  auto id = d.create_container(spec);
  REQUIRE(id.ok());
  REQUIRE(d.start_container(*id).ok());
  auto waited = d.wait_container(*id, WaitCondition::kNotRunning, {}, 30s);
  REQUIRE(waited.ok());
  auto exited_at = SteadyClock::now();

  auto has = [&](const std::string& action) {
    return std::any_of(seen.begin(), seen.end(),
                       [&](const DockerEvent& e) { return e.action == action; });
  };
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 1s, [&] { return has("start") && has("die"); }));
    CHECK(die_seen - exited_at < 1s);
    for (const auto& e : seen) {
      CHECK(e.type == "container");
      CHECK(e.id == *id);
      CHECK(e.attributes.at("io.cenv.marker") == marker);
      CHECK(e.attributes.at("name") == spec.name);
      CHECK(e.time_nano > 0);
      if (e.action == "die") CHECK(e.attributes.at("exitCode") == "4");
    }
  }
  stop.request_stop();
  watcher.join();
  CHECK(result.ok());

  // `since` replays what happened before the subscription; `until` ends the stream.
  std::vector<std::string> replayed;
  EventsOptions replay;
  replay.label_filters = {run_filter(), "io.cenv.marker=" + marker};
  replay.since = std::chrono::system_clock::now() - 60s;
  replay.until = std::chrono::system_clock::now();
  REQUIRE(d.events(replay, [&](const DockerEvent& e) {
             replayed.push_back(e.action);
             return true;
           }).ok());
  CHECK(std::find(replayed.begin(), replayed.end(), "create") != replayed.end());
  CHECK(std::find(replayed.begin(), replayed.end(), "die") != replayed.end());
}

TEST_CASE("EngineDockerClient builds an image from a tar context with streamed step output") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  std::string tag = "cenv-test/" + run_id() + ":built";
  std::string context = tar_of({{"Dockerfile", std::string("FROM ") + kImage +
                                                   "\nRUN echo hi > /hi\n"
                                                   "LABEL io.cenv.test-built=yes\n"}});
  BuildOptions b;
  b.context_tar = context;
  b.tags = {tag};
  b.labels = test_labels({{"io.cenv.kind", "Environment"}});
  b.network_mode = "host";
  std::vector<std::string> lines;
  auto image_id = d.build_image(b, [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  REQUIRE(image_id.ok());
  CHECK(image_id->rfind("sha256:", 0) == 0);
  // Docker appends the build labels as LABEL steps of their own: match "Step 1/N : ...".
  auto has_step = [&](const std::string& number, const std::string& instruction) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind("Step " + number + "/", 0) == 0 && l.ends_with(" : " + instruction);
    });
  };
  CHECK(has_step("1", std::string("FROM ") + kImage));
  CHECK(has_step("2", "RUN echo hi > /hi"));
  CHECK(has_step("3", "LABEL io.cenv.test-built=yes"));
  CHECK(lines.back().rfind("Successfully tagged " + tag, 0) == 0);
  for (const auto& l : lines) CHECK(l.find('\n') == std::string::npos);

  auto image = d.inspect_image(tag);
  REQUIRE(image.ok());
  CHECK(image->id == *image_id);
  CHECK(std::find(image->tags.begin(), image->tags.end(), tag) != image->tags.end());
  CHECK(image->labels.at("io.cenv.test-built") == "yes");
  CHECK(image->labels.at("io.cenv.kind") == "Environment");
  CHECK(image->labels.at(kRunLabel) == run_id());

  ContainerSpec from_built = spec_for("built", {"cat", "/hi"});
  from_built.image = tag;
  Ran ran = run_to_exit(from_built);
  CHECK(ran.exit_code == 0);
  CHECK(ran.output.out == "hi\n");

  auto listed = d.list_images({.label_filters = {run_filter()}});
  REQUIRE(listed.ok());
  CHECK(std::any_of(listed->begin(), listed->end(),
                    [&](const ImageInfo& i) { return i.id == *image_id; }));

  // The same context from a file builds the same image (from the cache), and tag adds names.
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("cenv-test-" + run_id() + "-context.tar");
  {
    std::ofstream out(file, std::ios::binary);
    out << context;
  }
  BuildOptions from_file = b;
  from_file.context_tar.clear();
  from_file.context_tar_path = file.string();
  auto again = d.build_image(from_file);
  std::filesystem::remove(file);
  REQUIRE(again.ok());
  CHECK(*again == *image_id);
  REQUIRE(d.tag_image(tag, "cenv-test/" + run_id(), "second").ok());
  auto retagged = d.inspect_image("cenv-test/" + run_id() + ":second");
  REQUIRE(retagged.ok());
  CHECK(retagged->id == *image_id);
  REQUIRE(d.remove_image("cenv-test/" + run_id() + ":second").ok());  // untags only
  CHECK(d.inspect_image(tag).ok());

  // A failing step fails the build with Docker's message.
  BuildOptions failing;
  failing.context_tar =
      tar_of({{"Dockerfile", std::string("FROM ") + kImage + "\nRUN echo doomed; exit 3\n"}});
  failing.labels = test_labels();
  failing.network_mode = "host";
  std::vector<std::string> failing_lines;
  auto failed = d.build_image(failing, [&](std::string_view line) {
    failing_lines.emplace_back(line);
    return true;
  });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Code::kInvalid);
  CHECK_THAT(failed.status().message(), Catch::Contains("non-zero code: 3"));
  CHECK(std::find(failing_lines.begin(), failing_lines.end(), "doomed") != failing_lines.end());

  BuildOptions neither;
  CHECK(d.build_image(neither).status().code() == Code::kInvalid);
}

TEST_CASE("EngineDockerClient errors carry Docker's message") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();

  ContainerSpec missing = spec_for("missing-image", {"true"});
  missing.image = "cenv-test/does-not-exist:" + run_id();
  auto no_image = d.create_container(missing);
  CHECK(no_image.status().code() == Code::kNotFound);
  CHECK_THAT(no_image.status().message(), Catch::Contains("No such image"));
  CHECK_THAT(no_image.status().message(), Catch::Contains(missing.image));
  CHECK(d.inspect_image(missing.image).status().code() == Code::kNotFound);

  ContainerSpec named = spec_for("taken", {"true"});
  REQUIRE(d.create_container(named).ok());
  auto taken = d.create_container(named);
  CHECK(taken.status().code() == Code::kAlreadyExists);
  CHECK_THAT(taken.status().message(), Catch::Contains("already in use"));

  // dockerd 20.10 accepts an unknown network at create and refuses to start.
  ContainerSpec bad_network = spec_for("bad-network", {"true"}, unique_name("no-such-net"));
  auto bad_network_id = d.create_container(bad_network);
  if (bad_network_id.ok()) {
    Status no_network = d.start_container(*bad_network_id);
    CHECK(no_network.code() == Code::kNotFound);
    CHECK_THAT(no_network.message(), Catch::Contains(bad_network.network + " not found"));
  } else {
    CHECK(bad_network_id.status().code() == Code::kNotFound);
  }

  CHECK(d.start_container("cenv-test-no-such-container").code() == Code::kNotFound);
  CHECK(d.remove_container("cenv-test-no-such-container").code() == Code::kNotFound);
  CHECK(d.inspect_volume(unique_name("no-volume")).status().code() == Code::kNotFound);
  CHECK(d.wait_container("cenv-test-no-such-container").status().code() == Code::kNotFound);
  Output none;
  CHECK(d.container_logs("cenv-test-no-such-container", {}, none.callback()).code() ==
        Code::kNotFound);

  ContainerSpec invalid = spec_for("invalid", {"true"});
  invalid.mounts = {Mount{Mount::Type::kBind, "relative/path", "/x", false}};
  auto rejected = d.create_container(invalid);
  CHECK(rejected.status().code() == Code::kInvalid);
  CHECK_FALSE(rejected.status().message().empty());
}

TEST_CASE("EngineDockerClient reports an unreachable daemon as Unavailable") {
  auto begin = SteadyClock::now();
  auto options = EngineOptions::from_environment([](const char* name) -> const char* {
    return std::string(name) == "DOCKER_HOST" ? "unix:///nonexistent" : nullptr;
  });
  auto client = EngineDockerClient::connect(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == Code::kUnavailable);
  CHECK(client.status().message() ==
        "docker is not running at unix:///nonexistent: no such socket");
  CHECK(SteadyClock::now() - begin < 1s);

  // A TCP port where nothing listens.
  EngineOptions tcp;
  tcp.host = "tcp://127.0.0.1:1";
  auto refused = EngineDockerClient::connect(tcp);
  CHECK(refused.status().code() == Code::kUnavailable);
  CHECK(refused.status().message() ==
        "docker is not running at tcp://127.0.0.1:1: connection refused");

  EngineOptions bad;
  bad.host = "ssh://user@host";
  CHECK(EngineDockerClient::connect(bad).status().code() == Code::kInvalid);
}

TEST_CASE("EngineDockerClient pull without a reachable registry fails cleanly") {
  auto begin = SteadyClock::now();
  Status s = docker().pull_image("cenv-test/not-in-any-registry:" + run_id());
  INFO(s.to_string());
  CHECK_FALSE(s.ok());
  CHECK((s.code() == Code::kUnavailable || s.code() == Code::kNotFound));
  CHECK(SteadyClock::now() - begin < 35s);
}

TEST_CASE("EngineDockerClient push names what is missing or unreachable") {
  // No local image of that name: NotFound, nothing sent anywhere.
  Status missing = docker().push_image("127.0.0.1:1/cenv-test/none:" + run_id(), std::nullopt);
  INFO(missing.to_string());
  CHECK(missing.code() == Code::kNotFound);
  CHECK_THAT(missing.message(), Catch::StartsWith("push 127.0.0.1:1/cenv-test/none:"));
  // A name on a registry that does not answer (port 1 refuses): Unavailable.
  const std::string name = "127.0.0.1:1/cenv-test/push-" + run_id();
  REQUIRE(docker().tag_image(kImage, name, "v1").ok());
  Status refused =
      docker().push_image(name + ":v1", RegistryAuth{"user", "password", "127.0.0.1:1"});
  (void)docker().remove_image(name + ":v1");
  INFO(refused.to_string());
  CHECK(refused.code() == Code::kUnavailable);
  CHECK_THAT(refused.message(), Catch::Contains("connection refused"));
  CHECK_THAT(refused.message(), !Catch::Contains("password"));
}

TEST_CASE("EngineDockerClient timings (reported, not asserted)") {
  RunCleanup cleanup;
  EngineDockerClient& d = docker();
  auto id = d.create_container(spec_for("timed", {"true"}));
  REQUIRE(id.ok());

  auto begin = SteadyClock::now();
  for (int i = 0; i < 100; ++i) REQUIRE(d.inspect_container(*id).ok());
  auto inspect_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count();

  EngineOptions no_pool = EngineOptions::from_environment();
  no_pool.max_idle_connections = 0;
  auto fresh = EngineDockerClient::connect(no_pool);
  REQUIRE(fresh.ok());
  begin = SteadyClock::now();
  for (int i = 0; i < 100; ++i) REQUIRE((*fresh)->inspect_container(*id).ok());
  auto fresh_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count();

  begin = SteadyClock::now();
  ContainerSpec once = spec_for("once", {"true"});
  auto run_id2 = d.create_container(once);
  REQUIRE(run_id2.ok());
  REQUIRE(d.start_container(*run_id2).ok());
  auto waited = d.wait_container(*run_id2);
  REQUIRE(waited.ok());
  REQUIRE(d.remove_container(*run_id2).ok());
  auto lifecycle_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count();

  std::cout << "timing: 100 inspect calls: " << inspect_ms << " ms with keep-alive, " << fresh_ms
            << " ms with a connection per call; create+start+wait+remove: " << lifecycle_ms
            << " ms\n";
  CHECK(inspect_ms > 0);
}

}  // namespace
}  // namespace cenv::docker
