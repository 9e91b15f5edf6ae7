#pragma once
// `cenv get`: objects as `kubectl get` prints them: a table (the printer columns of crds/),
// -o wide, yaml, json or name; with -w, every change after the list.

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct GetFlags {
  std::vector<std::string> args;  // KIND [NAME...] | KIND/NAME... | KIND,KIND | all
  bool all_namespaces = false;
  std::string selector;
  std::string output;  // empty: a table
  bool no_headers = false;
  bool watch = false;
  bool watch_only = false;
  bool show_managed_fields = false;  // kubectl hides metadata.managedFields unless asked
};

// Runs `cenv get`; `ns` is the -n flag (empty: "default"). Returns the exit code: 1 when an
// argument is wrong or an object asked for by name is missing (after printing the others).
int run_get(const Context& context, const std::string& ns, const GetFlags& flags);

}  // namespace cenv::cli
