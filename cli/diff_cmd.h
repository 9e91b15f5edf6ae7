#pragma once
// `cenv diff -f FILE`: what `cenv apply` would change, as a unified diff, like `kubectl diff`:
// exit 0 when nothing would change, 1 when something would, >1 on error.

#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct DiffFlags {
  std::vector<std::string> files;
  bool recursive = false;
  std::string field_manager = "cenv";
  bool force_conflicts = false;
  mode_t program_umask = 022;  // the umask the diff program runs with (the user's)
};

int run_diff(const Context& context, const std::string& ns, const DiffFlags& flags);

}  // namespace cenv::cli
