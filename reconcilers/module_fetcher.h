#pragma once
// ModuleFetcher: a Module object's files, manifest and revision, from wherever its spec says
// they are (DESIGN section 2, issue 11 point 1): an archive the CLI uploaded
// (spec.source.digest, read through ArchiveReader), a Git repository (spec.source.git, through
// modules::GitFetcher) or the object itself (inline spec.requires / spec.install / ...).
// The Module reconciler reports what it fetched in the Module's status; the Environment
// reconciler builds the runtime image from the same files.

#include <string>

#include "api/object.h"
#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/manifest.h"

namespace cenv {

// One fetched Module.
struct FetchedModule {
  // The Git commit (40 hex) of a git source; the tree digest ("sha256:...") of an archive or
  // inline source.
  std::string revision;
  modules::ModuleManifest manifest;
  modules::FileTree files;  // empty for an inline Module
};

class ModuleFetcher {
 public:
  virtual ~ModuleFetcher() = default;
  // Fetches `module` (a Module object) as its spec says. Errors name the field: NotFound for a
  // missing archive (spec.source.digest), ref or subdir; Unavailable for a Git remote that does
  // not answer; Invalid for a manifest or files that are not a valid module (the message names
  // cenv-module.yaml and the field). Thread-safe.
  virtual Result<FetchedModule> fetch(const Object& module) = 0;
};

}  // namespace cenv
