#pragma once
// Drives the `cenv` binary as a user does, with a private CENV_HOME per test, and stops the
// controller that the test's commands started when the test ends.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace cenv::e2e {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CenvRunner {
 public:
  CenvRunner() {
    std::random_device rd;
    home_ = std::filesystem::temp_directory_path() /
            ("cenv-e2e-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(home_);
  }
  ~CenvRunner() {
    run("controller stop");
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }
  CenvRunner(const CenvRunner&) = delete;
  CenvRunner& operator=(const CenvRunner&) = delete;

  // Runs `cenv ARGS` (ARGS is shell text) from the source tree root, capturing both streams.
  RunResult run(const std::string& args, const std::string& stdin_text = "") const {
    std::filesystem::path out = home_ / "stdout", err = home_ / "stderr", in = home_ / "stdin";
    std::ofstream(in) << stdin_text;
    std::string cmd = "cd '" CENV_SOURCE_DIR "' && CENV_HOME='" + home_.string() + "' '" +
                      CENV_BINARY "' " + args + " <'" + in.string() + "' >'" + out.string() +
                      "' 2>'" + err.string() + "'";
    int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  const std::filesystem::path& home() const { return home_; }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }

 private:
  std::filesystem::path home_;
};

}  // namespace cenv::e2e
