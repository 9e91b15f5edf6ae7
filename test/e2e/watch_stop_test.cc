// A `cenv get -w` left running never undoes `cenv controller stop`: when the controller goes
// away, the watch does not start a new one; it says once that it waits, and resumes when a
// controller answers again.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

// Waits until `pred` holds; the limit only keeps a broken build from hanging the test.
bool eventually(const std::function<bool()>& pred,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// `cenv ARGS...` in the background for `cenv`'s home and instance, stdout and stderr to files.
// Killed (SIGKILL) and reaped when this goes out of scope; killed by the kernel if the test
// process dies first, and by SIGALRM after `limit` in any case.
class Background {
 public:
  Background(const CenvRunner& cenv, const std::vector<std::string>& args, unsigned limit_seconds)
      : out_(cenv.home() / "background.out"), err_(cenv.home() / "background.err") {
    const std::string label = cenv.label();
    const std::string instance = label.substr(label.find('=') + 1);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      alarm(limit_seconds);  // survives exec: the timeout of the background command
      setenv("CENV_HOME", cenv.home().c_str(), 1);
      setenv("CENV_INSTANCE", instance.c_str(), 1);
      setenv("CENV_CONTAINER_LABELS", label.c_str(), 1);
      int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int in = open("/dev/null", O_RDONLY);
      if (out < 0 || err < 0 || in < 0) _exit(126);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv{const_cast<char*>("cenv")};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(CENV_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Background() { stop(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Whether it still runs (not exited, not reaped).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string out() const { return CenvRunner::slurp(out_); }
  std::string err() const { return CenvRunner::slurp(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
};

constexpr const char* kWaiting = "the local controller stopped; waiting for it to start again";

TEST_CASE("get -w does not restart a stopped controller, and it waits and resumes", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: before, namespace: default}
spec: {}
)")
              .exit_code == 0);
  {
    Background watch(cenv, {"get", "svc", "-w", "-o", "name"}, 120);
    INFO("watch stdout: " << watch.out() << "\nwatch stderr: " << watch.err());
    REQUIRE(eventually([&] { return has(watch.out(), "service/before\n"); }));

    auto stop = cenv.run("controller stop");
    REQUIRE(stop.exit_code == 0);
    REQUIRE(has(stop.out, "controller stopped"));
    CHECK(eventually([&] { return has(watch.err(), kWaiting); }));
    // Nothing to wait on for a start that must not happen: give a wrong one time to show.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto status = cenv.run("controller status");
    CHECK(status.exit_code == 3);
    CHECK(watch.running());
    CHECK_FALSE(has(watch.err(), "started the local controller"));

    // A controller the user starts again: the watch resumes and says it waited only once.
    REQUIRE(cenv.run("controller start").exit_code == 0);
    REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: after, namespace: default}
spec: {}
)")
                .exit_code == 0);
    CHECK(eventually([&] { return has(watch.out(), "service/after\n"); }));
    CHECK(watch.running());
    std::string err = watch.err();
    CHECK(err.find(kWaiting) == err.rfind(kWaiting));
    watch.stop();
  }
}

TEST_CASE("logs -f waits for a stopped controller and does not restart it", "[e2e][run]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: CommandRun
metadata: {name: talker, namespace: default}
spec: {command: [sh, -c, "echo started; sleep 600"]}
)")
              .exit_code == 0);
  Background logs(cenv, {"logs", "-f", "cr/talker"}, 120);
  INFO("logs stdout: " << logs.out() << "\nlogs stderr: " << logs.err());
  REQUIRE(eventually([&] { return has(logs.out(), "started\n"); }, std::chrono::seconds(60)));

  REQUIRE(cenv.run("controller stop").exit_code == 0);
  CHECK(eventually([&] { return has(logs.err(), kWaiting); }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(cenv.run("controller status").exit_code == 3);
  CHECK(logs.running());
  CHECK_FALSE(has(logs.err(), "started the local controller"));
  logs.stop();
}

}  // namespace
}  // namespace cenv::e2e
