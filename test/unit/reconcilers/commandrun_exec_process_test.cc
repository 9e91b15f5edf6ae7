// The exec wrapper and signal commands of exec_process.h, run by this machine's /bin/sh as
// Docker would run them in a container (each exec a session leader).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reconcilers/exec_process.h"

extern char** environ;

namespace cenv {
namespace {

// Starts `argv` as a session leader (as Docker starts an exec); its pid.
pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  REQUIRE(rc == 0);
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

int run(const std::vector<std::string>& argv) {
  int status = wait_status(spawn(argv));
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// Processes of process group `pgid` that have not ended (not zombies).
int live_in_group(pid_t pgid) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 1));
    std::string state;
    long ppid = 0, pgrp = 0;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != "Z") ++n;
  }
  return n;
}

struct TempPidFile {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("cenv-exec-test-" + std::to_string(getpid()) + ".pid"))
                         .string();
  ~TempPidFile() { std::filesystem::remove(path); }
};

TEST_CASE("The exec wrapper records its pid and keeps the command's argv and exit code",
          "[reconcilers][commandrun]") {
  TempPidFile f;
  pid_t pid = spawn(wrap_exec_command(
      f.path, {"/bin/sh", "-c", "[ \"$1\" = 'a b' ] && [ \"$2\" = '$HOME' ] && exit 7", "x", "a b",
               "$HOME"}));
  int status = wait_status(pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
  std::ifstream in(f.path);
  pid_t recorded = 0;
  in >> recorded;
  CHECK(recorded == pid);  // exec: the recorded pid is the command's
}

TEST_CASE("A command the wrapper cannot find exits 127, and an unwritable pid file is no error",
          "[reconcilers][commandrun]") {
  CHECK(run(wrap_exec_command("/nonexistent/dir/x.pid", {"no-such-command-cenv"})) == 127);
  CHECK(run(wrap_exec_command("/nonexistent/dir/x.pid", {"/bin/sh", "-c", "exit 0"})) == 0);
}

TEST_CASE("The signal command signals the wrapped command's process group",
          "[reconcilers][commandrun]") {
  TempPidFile f;
  // No pid recorded yet: 3, try again.
  CHECK(run(exec_signal_command(f.path, "TERM")) == 3);
  pid_t pid = spawn(wrap_exec_command(f.path, {"/bin/sh", "-c", "sleep 30; exit 0"}));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(f.path) || std::filesystem::file_size(f.path) == 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(run(exec_signal_command(f.path, "TERM")) == 0);
  int status = wait_status(pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  // Its group went with it (the sleep too); a zombie no one reaps here does not count.
  while (live_in_group(pid) > 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_CASE("A host pid is signalled only when it runs in the named container",
          "[reconcilers][commandrun]") {
  Status s = signal_host_process(getpid(), "cenv-no-such-container-id", SIGTERM);
  CHECK(s.code() == Code::kUnavailable);
  CHECK(signal_host_process(0, "abc", SIGTERM).code() == Code::kUnavailable);
}

}  // namespace
}  // namespace cenv
