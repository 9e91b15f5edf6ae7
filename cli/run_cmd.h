#pragma once
// `cenv run [-n ENV] [--image I | --service S] [--rm] [-i] -- CMD ARGS...`: creates a
// CommandRun (named run-XXXXX), streams its output (stdout to stdout, stderr to stderr) and
// exits with the command's exit code. Ctrl-C deletes (cancels) the run; -i sends this
// process's stdin to the command; --rm deletes the run once it has finished.

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct RunFlags {
  std::string image;    // run in a new container of this image
  std::string service;  // run inside this Service's container (docker exec)
  bool rm = false;
  bool interactive = false;
  std::string name;              // empty: run-XXXXX
  int timeout_seconds = 0;       // 0: no limit
  std::vector<std::string> env;  // NAME=VALUE
  std::string working_dir;
  std::vector<std::string> command;
};

// Returns the command's exit code; 130 when cancelled with Ctrl-C; 1 (with a message) when the
// run could not be created or failed before its command ran.
int run_run(const Context& context, const std::string& ns, const RunFlags& flags);

}  // namespace cenv::cli
