#pragma once
// `cenv run [-n ENV] [--image I | --service S] [--rm] [-i] -- CMD ARGS...` (or
// `cenv run MODULE:COMMAND -- ARGS...`, a module's declared command): creates a
// CommandRun (named run-XXXXX), streams its output (stdout to stdout, stderr to stderr) and
// exits with the command's exit code. Ctrl-C deletes (cancels) the run; -i sends this
// process's stdin to the command; --rm deletes the run once it has finished.

#include <optional>
#include <string>
#include <vector>

#include "api/status.h"
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
  // Every positional argument: CMD ARGS..., or MODULE:COMMAND and the module command's args.
  std::vector<std::string> command;
  // How many of `command` came after `--` (cli.cc counts them in argv): the MODULE:COMMAND form
  // is the one positional before it.
  size_t after_separator = 0;
};

// `cenv run MODULE:COMMAND -- ARGS`: a module's declared command (CommandRun spec.module,
// spec.moduleCommand, spec.args; ARGS, when given, replace the command's default args).
struct ModuleCommandRef {
  std::string module;
  std::string command;
  std::vector<std::string> args;
};

// Reads the positionals of `cenv run` (`after_separator` of them came after `--`). The first
// one names a module command when it comes before `--` and holds a ':'; nullopt for a plain
// command. Invalid when MODULE or COMMAND is not a valid name, or when more than one positional
// comes before `--` (ARGS go after it).
Result<std::optional<ModuleCommandRef>> module_command_of(
    const std::vector<std::string>& positionals, size_t after_separator);

// Returns the command's exit code; 130 when cancelled with Ctrl-C; 1 (with a message) when the
// run could not be created or failed before its command ran.
int run_run(const Context& context, const std::string& ns, const RunFlags& flags);

}  // namespace cenv::cli
