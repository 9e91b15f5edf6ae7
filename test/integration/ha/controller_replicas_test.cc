// Two controller replicas of one cenv on one PostgreSQL database (issue 15), driven through the
// `cenv` binary as an operator would: writes through either are seen by watchers on both; only
// the leader reconciles; kill -9 of the leader mid-reconcile hands over within the lease and
// leaves no duplicate and no orphan container; a leader frozen past its lease (SIGSTOP) makes no
// Docker change when it wakes. Short leases (3 s / 2 s / 500 ms) keep the test quick.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>

#include "test/e2e/cenv_runner.h"
#include "test/integration/store/postgres_server.h"

namespace cenv {
namespace {

using namespace std::chrono_literals;
using e2e::CenvRunner;
using e2e::eventually;
using e2e::has;
using e2e::shell;

constexpr const char* kLeaseFlags = "--lease-duration 3s --renew-deadline 2s --retry-period 500ms";

// A controller replica run in the background on `url`, in `runner`'s home.
struct Replica {
  const CenvRunner& runner;
  int pid = 0;

  Replica(const CenvRunner& r, const std::string& url) : runner(r) {
    std::filesystem::path log = runner.home() / "replica.log";
    auto started = runner.run_command("'" CENV_BINARY "' controller run --store '" + url + "' " +
                                          kLeaseFlags + " >'" + log.string() + "' 2>&1 & echo $!",
                                      "");
    REQUIRE(started.exit_code == 0);
    pid = std::stoi(started.out);
    REQUIRE(eventually([&] { return runner.run("controller status").exit_code == 0; }, 30s));
  }
  ~Replica() { stop(); }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(100ms);
    kill(pid, SIGKILL);
    pid = 0;
  }
  void kill9() {
    kill(pid, SIGKILL);
    pid = 0;
  }
  bool leads() const { return has(runner.run("controller status").out, "this replica"); }
  // GET `path` on the replica's HTTP listener.
  std::string http(const std::string& path) const {
    std::string address;
    std::ifstream(runner.home() / "run" / "http.addr") >> address;
    return shell("curl -s http://" + address + path);
  }
  std::string log() const { return CenvRunner::slurp(runner.home() / "replica.log"); }
};

// A fresh database, controller a started first (and leading), then controller b: two replicas
// of one instance, stopped (b first) and cleaned up when the test ends.
struct TwoReplicas {
  testing::TestDatabase db{testing::postgres_server()};
  CenvRunner a;
  CenvRunner b{CenvRunner::SameInstance{}, a};
  Replica ra{a, db.url()};
  bool a_leads = eventually([this] { return ra.leads(); }, std::chrono::seconds(20));
  Replica rb{b, db.url()};
  TwoReplicas() { REQUIRE(a_leads); }
  std::tuple<CenvRunner&, CenvRunner&, Replica&, Replica&> parts() { return {a, b, ra, rb}; }
};

std::string services(const std::string& env, int from, int to) {
  std::string y;
  for (int i = from; i < to; ++i) {
    y += "---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: s" + std::to_string(i) +
         "\n  namespace: " + env +
         "\nspec:\n  image: cenv/base:bookworm\n  command: [sh, -c, \"trap 'exit 0' TERM; sleep "
         "3600 & wait\"]\n";
  }
  return y;
}

// `cenv wait` for Services s0..s<n-1> of `env` Ready.
e2e::RunResult wait_ready(const CenvRunner& r, const std::string& env, int n) {
  std::string names;
  for (int i = 0; i < n; ++i) names += " svc/s" + std::to_string(i);
  return r.run("wait --for=condition=Ready" + names + " -n " + env + " --timeout 120s");
}

std::string environment(const std::string& env) {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + env + "\nspec: {}\n";
}

// The names of the running or stopped containers this test's controllers made.
std::vector<std::string> containers(const CenvRunner& r) {
  std::vector<std::string> names;
  std::istringstream in(
      shell("docker ps -a --filter label=" + r.label() + " --format '{{.Names}}' | sort"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

TEST_CASE(
    "two controllers on one PostgreSQL: watchers on both see every write, one leads, and "
    "kill -9 of the leader mid-reconcile hands over with no duplicate or orphan container",
    "[ha][docker][postgres]") {
  TwoReplicas two;
  auto [a, b, ra, rb] = two.parts();
  CHECK_FALSE(rb.leads());
  CHECK(has(b.run("controller status").out, "leader:"));
  CHECK(has(ra.http("/metrics"), "\ncenv_leader 1\n"));
  CHECK(has(rb.http("/metrics"), "\ncenv_leader 0\n"));
  CHECK(has(ra.http("/readyz"), "(this replica)"));
  CHECK(has(rb.http("/readyz"), "leader: "));

  // Watchers on both replicas; writes through both.
  auto watch = [](const CenvRunner& r) {
    return r.run_command("timeout 60 '" CENV_BINARY "' get svc -n ha -w -o name > '" +
                             (r.home() / "watch.out").string() + "' 2>&1 &",
                         "");
  };
  REQUIRE(a.run("apply -f -", environment("ha")).exit_code == 0);
  watch(a);
  watch(b);
  std::this_thread::sleep_for(1s);
  REQUIRE(a.run("apply -f -", services("ha", 0, 1)).exit_code == 0);
  REQUIRE(b.run("apply -f -", services("ha", 1, 2)).exit_code == 0);
  for (const CenvRunner* r : {&a, &b}) {
    INFO("watch on " << r->home());
    CHECK(eventually(
        [&] {
          std::string seen = CenvRunner::slurp(r->home() / "watch.out");
          return has(seen, "service/s0") && has(seen, "service/s1");
        },
        10s));
  }
  REQUIRE(wait_ready(b, "ha", 2).exit_code == 0);

  // Six more Services through the follower; the leader dies while it starts their containers.
  REQUIRE(b.run("apply -f -", services("ha", 2, 8)).exit_code == 0);
  std::this_thread::sleep_for(300ms);
  ra.kill9();
  auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return rb.leads(); }, 20s));
  auto took = std::chrono::steady_clock::now() - killed;
  WARN("failover took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms (lease 3 s)");
  CHECK(took < 3s + 2s);  // lease time + retry period and the poll's granularity
  auto ready = wait_ready(b, "ha", 8);
  INFO(ready.out << ready.err);
  CHECK(ready.exit_code == 0);
  // One container per Service: no duplicate, no orphan.
  std::vector<std::string> want;
  for (int i = 0; i < 8; ++i) want.push_back(a.docker_name("ha-s" + std::to_string(i)));
  std::sort(want.begin(), want.end());
  CHECK(eventually([&] { return containers(a) == want; }, 30s));
  CHECK(containers(a) == want);
  CHECK(has(b.run("events -A").out, "LeaderElected"));
  REQUIRE(b.run("delete env ha --wait --timeout 120s").exit_code == 0);
  CHECK(eventually([&] { return containers(a).empty(); }, 60s));
}

// One Service whose container ignores SIGTERM: replacing it keeps the reconciler waiting in
// Docker's stop (10 s) — the moment the leader is frozen.
std::string stubborn_service(const std::string& env, const std::string& command) {
  return "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: s0\n  namespace: " + env +
         "\nspec:\n  image: cenv/base:bookworm\n  command: [sh, -c, \"" + command + "\"]\n";
}

TEST_CASE("a leader frozen past its lease makes no Docker change when it wakes",
          "[ha][docker][postgres]") {
  TwoReplicas two;
  auto [a, b, ra, rb] = two.parts();
  REQUIRE(a.run("apply -f -", environment("frozen")).exit_code == 0);
  REQUIRE(a.run("apply -f -", stubborn_service("frozen", "trap '' TERM; sleep 3600")).exit_code ==
          0);
  REQUIRE(wait_ready(a, "frozen", 1).exit_code == 0);
  // A new spec: the leader stops the old container (which ignores SIGTERM: 10 s) to replace it,
  // and is frozen while it waits; its next steps would be to remove it and create the new one.
  REQUIRE(a.run("apply -f -", stubborn_service("frozen", "trap 'exit 0' TERM; sleep 3600 & wait"))
              .exit_code == 0);
  std::this_thread::sleep_for(1s);
  kill(ra.pid, SIGSTOP);
  REQUIRE(eventually([&] { return rb.leads(); }, 20s));
  // The new leader replaces the container and then, asked to, removes the Service.
  REQUIRE(wait_ready(b, "frozen", 1).exit_code == 0);
  auto deleted = b.run("delete svc/s0 -n frozen --wait --timeout 120s");
  INFO(deleted.out << deleted.err);
  REQUIRE(deleted.exit_code == 0);
  REQUIRE(eventually([&] { return containers(a).empty(); }, 60s));

  // The frozen leader wakes in the middle of its replacement: without the lease it must not
  // create the container of a Service that is gone.
  const std::string since = shell("date +%s.%N");
  kill(ra.pid, SIGCONT);
  std::this_thread::sleep_for(4s);
  const std::string actions =
      shell("docker events --since " + since.substr(0, since.size() - 1) + " --until $(date +%s)" +
            " --filter label=" + a.label() + " --filter type=container --format '{{.Action}}'");
  INFO("docker events after the wake-up: " << actions);
  CHECK(actions.empty());
  CHECK(containers(a).empty());
  CHECK(rb.leads());
  CHECK_FALSE(ra.leads());
  CHECK(has(ra.log(), "stepping down"));
  REQUIRE(b.run("delete env frozen --wait --timeout 120s").exit_code == 0);
}

TEST_CASE(
    "an Environment deleted through the follower goes once the leader removed its containers, "
    "and one whose deleting replica died is finished by the leader",
    "[ha][docker][postgres]") {
  TwoReplicas two;
  auto [a, b, ra, rb] = two.parts();
  // Its Services hold the namespace (their containers' finalizer) until the leader's
  // reconcilers have removed the containers: the follower that began the deletion must learn
  // that they are gone.
  REQUIRE(a.run("apply -f -", environment("via-b")).exit_code == 0);
  REQUIRE(a.run("apply -f -", services("via-b", 0, 2)).exit_code == 0);
  REQUIRE(wait_ready(a, "via-b", 2).exit_code == 0);
  auto deleted = b.run("delete env via-b --wait --timeout 40s");
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
  CHECK(eventually([&] { return containers(a).empty(); }, 30s));

  // The follower begins a deletion and is killed: the leader takes it up.
  REQUIRE(a.run("apply -f -", environment("orphan")).exit_code == 0);
  REQUIRE(a.run("apply -f -", services("orphan", 0, 2)).exit_code == 0);
  REQUIRE(wait_ready(a, "orphan", 2).exit_code == 0);
  REQUIRE(b.run("delete env orphan").exit_code == 0);
  rb.kill9();
  auto gone = a.run("wait --for=delete env/orphan --timeout 40s");
  INFO(gone.out << gone.err);
  CHECK(gone.exit_code == 0);
  CHECK(eventually([&] { return containers(a).empty(); }, 30s));
}

TEST_CASE(
    "a namespace deletion waiting on a finalizer goes on when the finalizer is removed through "
    "the other replica",
    "[ha][postgres]") {
  TwoReplicas two;
  auto [a, b, ra, rb] = two.parts();
  REQUIRE(a.run("apply -f -", environment("held") +
                                  "---\napiVersion: cenv.io/v1\nkind: Module\nmetadata:\n"
                                  "  name: m0\n  namespace: held\n  finalizers: [example.com/hold]"
                                  "\nspec: {install: \"true\"}\n")
              .exit_code == 0);
  REQUIRE(a.run("delete env held --no-wait").exit_code == 0);
  std::this_thread::sleep_for(1s);
  REQUIRE(b.run("patch module m0 -n held --type json "
                "-p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'")
              .exit_code == 0);
  auto gone = b.run("wait env/held --for=delete --timeout 30s");
  INFO(gone.out << gone.err);
  CHECK(gone.exit_code == 0);
}

TEST_CASE(
    "PostgreSQL cut off past the lease makes the leader step down and restarted leaves "
    "one leader and no lost write",
    "[ha][postgres]") {
  TwoReplicas two;
  auto [a, b, ra, rb] = two.parts();
  REQUIRE(a.run("apply -f -", environment("cut")).exit_code == 0);

  // Nothing answers (the network cut) for longer than the lease.
  testing::postgres_server().freeze(true);
  std::this_thread::sleep_for(4s);
  const bool a_leads = ra.leads(), b_leads = rb.leads();
  testing::postgres_server().freeze(false);
  CHECK_FALSE(a_leads);
  CHECK_FALSE(b_leads);
  CHECK(has(ra.log(), "stepping down"));
  REQUIRE(eventually([&] { return ra.leads() || rb.leads(); }, 20s));

  // Restarted under both: they reconnect, exactly one leads, and writes go on.
  testing::postgres_server().stop();
  REQUIRE(testing::postgres_server().start().empty());
  REQUIRE(eventually([&] { return b.run("apply -f -", environment("cut2")).exit_code == 0; }, 30s));
  REQUIRE(eventually([&] { return ra.leads() != rb.leads(); }, 20s));
  std::this_thread::sleep_for(2s);
  CHECK(ra.leads() != rb.leads());
  CHECK(has(a.run("get env cut cut2").out, "cut2"));
  CHECK(has(b.run("get env cut cut2").out, "cut"));
  REQUIRE(b.run("delete env cut cut2 --wait --timeout 60s").exit_code == 0);
}

}  // namespace
}  // namespace cenv
