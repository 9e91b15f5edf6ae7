#pragma once
// `cenv db start|stop|rm|status`: PostgreSQL as the local controller's store, run
// as the system Service cenv-system/postgres (manifests/system/postgres.yaml) through the
// controller's own service management.
//
// start: applies the system Environment and Service, waits until the Service is Ready, then
//        stops the controller, copies every object from SQLite into PostgreSQL, records the
//        PostgreSQL URL in $CENV_HOME/db/store.url and starts the controller on it.
// stop:  the reverse copy (PostgreSQL into SQLite), forgets the URL, restarts the controller
//        on SQLite and deletes the system Environment; the data volume stays.
// rm:    stop, then removes the data volume and the saved password and port.
// status: which store the controller uses and the state of the system Service.

#include <chrono>
#include <memory>
#include <string>

#include "api/clock.h"
#include "api/status.h"
#include "cli/context.h"
#include "cli/home.h"

namespace cenv::cli {

struct DbStartOptions {
  std::string image = "cenv/postgres:15";  // any postgres image with the official entrypoint
  std::chrono::seconds timeout{300};       // how long to wait for the Service to be Ready
};

int db_start(const Context& context, const DbStartOptions& options);
int db_stop(const Context& context);
int db_rm(const Context& context);
int db_status(const Context& context);

// The store URL the local controller uses when `--store` is not given: the one `cenv db
// start` recorded, else "sqlite:$CENV_HOME/cenv.db".
std::string default_store_url(const Home& home);
// The store URL `cenv db start` recorded; empty when there is none.
std::string recorded_store_url(const Home& home);

}  // namespace cenv::cli
