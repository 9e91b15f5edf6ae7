#pragma once
// `cenv apply`: server-side apply of manifests, as `kubectl apply --server-side` does, with
// --dry-run=client|server, --prune --applyset, and --wait for the applied objects to be Ready.
// `cenv create -f` goes the same way with ApplyFlags::create, as `kubectl create -f` does.

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct ApplyFlags {
  std::vector<std::string> files;
  bool recursive = false;
  // none: apply. client: validate and default here (crds/ built into the binary) and print
  // the result; nothing is sent to the controller's write path. server: the controller
  // computes the full result (ownership, conflicts, prune) and stores nothing.
  std::string dry_run = "none";
  std::string field_manager = "cenv";
  std::string output;
  bool force_conflicts = false;
  bool server_side = false;  // accepted for kubectl habits: every apply is server-side
  std::string applyset;
  bool prune = false;
  bool wait = false;           // wait until every applied object is Ready
  std::string timeout = "5m";  // how long --wait waits
  // `cenv create`: create only (an existing object is an error and nothing is written);
  // metadata.generateName names the object on the server.
  bool create = false;
};

// Runs `cenv apply`; `ns` is the -n flag (empty: the manifests' own or "default").
int run_apply(const Context& context, const std::string& ns, const ApplyFlags& flags);

}  // namespace cenv::cli
