#pragma once
// `cenv dashboard`: prints the URL of the local controller's web UI (served under /ui/ of its
// HTTP listener, on loopback) and opens it in a browser when there is a display.

#include <string>

#include "cli/context.h"

namespace cenv::cli {

struct DashboardFlags {
  bool no_open = false;  // --no-open: print the URL only
};

// The dashboard URL of an HTTP listener at `address` ("HOST:PORT"), opened at Environment `ns`
// when it is not empty: "http://HOST:PORT/ui/" or ".../ui/#/env/NS". A wildcard host
// (0.0.0.0, [::]) becomes the loopback address.
std::string dashboard_url(const std::string& address, const std::string& ns);

// Runs `cenv dashboard`: starts the local controller when none runs (as every verb does),
// prints the URL and, unless --no-open, runs xdg-open on it when $DISPLAY or $WAYLAND_DISPLAY is
// set and xdg-open is on the PATH. Returns the exit code: 1 for a remote context (only the
// local controller serves the dashboard for now) or a controller that does not answer.
int run_dashboard(const Context& context, const std::string& ns, const DashboardFlags& flags);

}  // namespace cenv::cli
