#pragma once
// The local controller as a process of this machine: whether one runs for a $CENV_HOME
// (decided by its lock file, not by its pid) and starting one in the background.

#include <chrono>
#include <string>
#include <vector>

#include "api/status.h"
#include "cli/home.h"

namespace cenv::cli {

// Pid of the controller holding home's lock file (alive: a dead process holds no lock), else 0.
int running_controller_pid(const Home& home);

// Whether a controller answers Hello on home's socket within `deadline`. Starts nothing.
bool controller_answers(const Home& home, std::chrono::milliseconds deadline);

// Starts `cenv controller run [extra_args]` for `home` in the background (new session, output
// to the log file) and waits until it answers, up to `wait`. Returns its pid. Unavailable with
// the log's last lines when it does not come up.
Result<int> start_local_controller(const Home& home, std::chrono::seconds wait,
                                   const std::vector<std::string>& extra_args = {});

}  // namespace cenv::cli
