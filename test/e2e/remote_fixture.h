#pragma once
// A runner's controller serving mutual TLS on a free loopback port, with the certificates of
// `cenv certs init` in the runner's home, for the remote e2e tests.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {

// The permission bits of `path`, or -1 when it does not exist.
inline int mode_of(const std::filesystem::path& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

// Runs shell text `cmd` with the runner's CENV_HOME, from the source tree root; its stdout.
inline std::string shell_in(const CenvRunner& cenv, const std::string& cmd) {
  return shell("cd '" CENV_SOURCE_DIR "' && export CENV_HOME='" + cenv.home().string() + "' && " +
               cmd + " 2>/dev/null");
}

class RemoteController {
 public:
  // Makes the certificates (`certs init --host ...`) and starts the controller on
  // `listen_host`:0; the runner stops it.
  explicit RemoteController(const CenvRunner& cenv, const std::string& listen_host = "127.0.0.1")
      : certs_(cenv.home() / "certs") {
    auto init = cenv.run("certs init --dir '" + certs_.string() + "'");
    REQUIRE(init.exit_code == 0);
    auto started = cenv.run("controller start --listen " + listen_host + ":0 --certs '" +
                            certs_.string() + "'");
    INFO(started.out << started.err);
    REQUIRE(started.exit_code == 0);
    address_ = CenvRunner::slurp(cenv.home() / "run" / "listen.addr");
    while (!address_.empty() && address_.back() == '\n') address_.pop_back();
    REQUIRE(address_.starts_with(listen_host + ":"));
    REQUIRE(address_ != listen_host + ":0");
  }

  // "HOST:PORT" the controller serves mutual TLS on.
  const std::string& address() const { return address_; }
  const std::filesystem::path& certs() const { return certs_; }

 private:
  std::filesystem::path certs_;
  std::string address_;
};

}  // namespace cenv::e2e
