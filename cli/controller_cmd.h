#pragma once
// `cenv controller run|start|stop|status|logs`: the local controller's lifecycle.

#include <string>

#include "cli/context.h"
#include "cli/home.h"

namespace cenv::cli {

struct ControllerRunOptions {
  std::string store;   // "sqlite:PATH", a path or "postgres://…"; empty: $CENV_HOME/cenv.db
  std::string socket;  // empty: $CENV_HOME/run/controller.sock
  std::string log_level = "info";
  std::string http_address = "127.0.0.1:0";  // /healthz, /readyz, /metrics; port 0: any free
  std::string listen;  // HOST:PORT for the API with mutual TLS; empty: unix socket only
  std::string certs;   // the certificates directory (`cenv certs init`); required with listen
  // Leader election among replicas sharing a PostgreSQL store ("15s", "500ms"); empty: the
  // defaults (15s, 10s, 2s).
  std::string lease_duration;
  std::string renew_deadline;
  std::string retry_period;
};

// Runs the controller in the foreground until SIGINT/SIGTERM. Returns the exit code.
int controller_run(const Home& home, const ControllerRunOptions& options);
// Starts the local controller in the background, with `options.listen` and `options.certs`
// (the other fields are ignored).
int controller_start(const Home& home, const ControllerRunOptions& options);
int controller_stop(const Home& home);
// Exit code 0 when the controller runs and answers, 3 when none runs, 1 when it does not answer.
int controller_status(const Context& context);
int controller_logs(const Home& home, int tail_lines);

}  // namespace cenv::cli
