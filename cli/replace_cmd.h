#pragma once
// `cenv replace -f FILE`: replaces existing objects with the manifests' versions, as `kubectl
// replace` does, through the API's Update call. Spec, labels and annotations become what the
// manifest says (status is the controller's and stays); finalizers and ownerReferences the
// manifest leaves out are kept, so a replace never drops a controller's cleanup. A manifest's
// metadata.resourceVersion is a precondition (Conflict when the object changed since); an
// object that does not exist is NotFound (replace creates nothing).

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct ReplaceFlags {
  std::vector<std::string> files;  // -f: files, directories or - (stdin)
  bool recursive = false;          // -R: read directories recursively
  std::string field_manager = "cenv-replace";
};

// Runs `cenv replace`; `ns` is the -n flag (empty: the manifests' own or "default"). Each object
// is replaced on its own, in order; 0 when every one was, else 1 (each failure printed).
int run_replace(const Context& context, const std::string& ns, const ReplaceFlags& flags);

}  // namespace cenv::cli
