#pragma once
// `cenv delete`: objects by kind and name or by manifest file, as `kubectl delete`: with a
// propagation policy (--cascade), waiting (by default) until objects held by finalizers are
// gone, and --purge to remove the deleted Services' volumes too.

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct DeleteFlags {
  std::vector<std::string> args;   // KIND NAME... | KIND/NAME...
  std::vector<std::string> files;  // -f: the objects of these manifests instead
  bool recursive = false;
  bool ignore_not_found = false;
  std::string cascade = "background";  // background, foreground or orphan
  bool wait = true;                    // until objects held by finalizers are gone
  std::string timeout = "60s";         // how long --wait waits
  bool purge = false;                  // also remove the volumes of the Services deleted
};

// Runs `cenv delete`; `ns` is the -n flag (empty: the manifests' own or "default"). Returns
// the exit code: 1 when an argument is wrong, a delete failed or --wait timed out.
int run_delete(const Context& context, const std::string& ns, const DeleteFlags& flags);

}  // namespace cenv::cli
