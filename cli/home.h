#pragma once
// Where the local controller keeps its files: $CENV_HOME (default ~/.cenv).

#include <filesystem>
#include <string>

#include "api/status.h"

namespace cenv::cli {

struct Home {
  std::filesystem::path root;

  // $CENV_HOME, else $HOME/.cenv. Does not create anything.
  static Home from_env();
  // Creates root, run/ and logs/ with mode 0700; Internal on failure.
  Status ensure() const;

  std::filesystem::path socket() const { return root / "run" / "controller.sock"; }
  std::filesystem::path pid_file() const { return root / "run" / "controller.pid"; }
  std::filesystem::path lock_file() const { return root / "run" / "controller.lock"; }
  // The controller's HTTP address (/healthz, /readyz, /metrics), "127.0.0.1:PORT".
  std::filesystem::path http_address_file() const { return root / "run" / "http.addr"; }
  // The controller's mutual-TLS address when it serves one (--listen), "HOST:PORT".
  std::filesystem::path listen_address_file() const { return root / "run" / "listen.addr"; }
  std::filesystem::path log_file() const { return root / "logs" / "controller.log"; }
  // The contexts (context_config.h), mode 0600.
  std::filesystem::path config_file() const { return root / "config.yaml"; }
  std::filesystem::path database() const { return root / "cenv.db"; }
};

}  // namespace cenv::cli
