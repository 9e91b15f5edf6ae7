#pragma once
// Drives the `cenv` binary as a user does, with a private CENV_HOME per test, and stops the
// controller that the test's commands started when the test ends. The controller is a cenv
// instance of its own ($CENV_INSTANCE=<this runner's id>), so tests running at the same time
// never share a Docker name or adopt each other's containers, and it labels everything it
// creates in Docker with cenv.test.run=<id> ($CENV_CONTAINER_LABELS); the runner removes those
// containers, networks, volumes and images at the end, and nothing else.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace cenv::e2e {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A TCP port free on 127.0.0.1 now (the kernel's pick), or -1.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class CenvRunner {
 public:
  CenvRunner() {
    std::random_device rd;
    id_ = "e2e-" + std::to_string(getpid()) + "-" + std::to_string(rd());
    home_ = std::filesystem::temp_directory_path() / ("cenv-" + id_);
    std::filesystem::create_directories(home_);
  }
  // A second home for the same instance ($CENV_INSTANCE, container label) as `other`: another
  // controller replica of the same cenv, for tests of several controllers on one store.
  struct SameInstance {};
  CenvRunner(SameInstance, const CenvRunner& other) : id_(other.id_) {
    static int next = 1;
    home_ = std::filesystem::temp_directory_path() /
            ("cenv-" + id_ + "-replica" + std::to_string(next++));
    std::filesystem::create_directories(home_);
  }
  ~CenvRunner() {
    run("controller stop");
    remove_docker_objects();
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }
  CenvRunner(const CenvRunner&) = delete;
  CenvRunner& operator=(const CenvRunner&) = delete;

  // Runs `cenv ARGS` (ARGS is shell text) from the source tree root, capturing both streams.
  RunResult run(const std::string& args, const std::string& stdin_text = "") const {
    return run_command("'" CENV_BINARY "' " + args, stdin_text);
  }

  // Runs shell text COMMAND from the source tree root with this runner's CENV_HOME,
  // CENV_INSTANCE and container label, capturing both streams.
  RunResult run_command(const std::string& command, const std::string& stdin_text) const {
    std::filesystem::path out = home_ / "stdout", err = home_ / "stderr", in = home_ / "stdin";
    std::ofstream(in) << stdin_text;
    std::string cmd = "cd '" CENV_SOURCE_DIR "' && CENV_HOME='" + home_.string() +
                      "' CENV_INSTANCE='" + id_ + "' CENV_CONTAINER_LABELS='" + label() + "' " +
                      command + " <'" + in.string() + "' >'" + out.string() + "' 2>'" +
                      err.string() + "'";
    int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Runs a program (shell text, e.g. "scripts/quickstart FILE") from the source tree root with
  // this runner's environment, and CENV naming the binary, as `make run` runs the quickstart.
  RunResult run_program(const std::string& command) const {
    return run_command("CENV='" CENV_BINARY "' " + command, "");
  }

  const std::filesystem::path& home() const { return home_; }
  // The label on every Docker object this runner's controller creates: "cenv.test.run=ID".
  std::string label() const { return "cenv.test.run=" + id_; }
  // What this runner's controller names Docker objects with: "cenv.<id>-" + the DESIGN name
  // without its "cenv-" (docker_names.h), e.g. docker_name("demo-web").
  std::string docker_name(const std::string& rest) const { return "cenv." + id_ + "-" + rest; }

  // Removes the containers, networks, volumes and images carrying label() (when Docker is there).
  void remove_docker_objects() const {
    std::string f = "--filter label=" + label();
    std::string cmd =
        "command -v docker >/dev/null 2>&1 || exit 0; "
        "docker ps -aq " +
        f +
        " | xargs -r docker rm -f; "
        "docker network ls -q " +
        f +
        " | xargs -r docker network rm; "
        "docker volume ls -q " +
        f + " | xargs -r docker volume rm -f; " + "docker images -q " + f +
        " | sort -u | xargs -r docker rmi -f >/dev/null";
    cmd = "( " + cmd + " ) >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }

 private:
  std::string id_;
  std::filesystem::path home_;
};

// Runs a shell command (docker queries, for instance) and returns its standard output.
inline std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// Whether `haystack` contains `needle`, for output checks.
inline bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Writes `text` to `file` (bytes as given), creating its folders.
inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// Waits until `pred` holds, looking every 200 ms; false past `limit` (a generous limit, only
// so that a broken build cannot hang a test).
inline bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

}  // namespace cenv::e2e
