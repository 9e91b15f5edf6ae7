#pragma once
// ModuleSources: the production ModuleFetcher (DESIGN section 2, issue 11 point 1). It reads a
// Module's files from where its spec says they are:
//  * spec.source.digest (set by `cenv apply` for spec.source.path): the uploaded archive, read
//    through ArchiveReader, whose files must have exactly that digest; revision = the digest;
//  * spec.source.git: a GitFetcher checkout; revision = the commit;
//  * inline (no spec.source): the object itself; revision = "sha256:..." of its spec without
//    spec.options, in a canonical encoding (the same whatever the order of its keys).
// Results are cached per Module uid, so the Environment reconciler may fetch every Module on
// every reconcile: a cached Module costs neither a tar read nor a Git fetch. A cached result
// is used while the Module's metadata.generation is the one it was fetched at; a git source is
// also fetched again once its Environment carries another value of the annotation
// cenv.io/build-requested-at (`cenv env build`) than when it was fetched, which is how a branch
// is read again. Successes and Invalid results are cached; NotFound, Unavailable and Internal
// are not (the next fetch tries again). Fetches of one Module are serialized (a second caller
// waits for the first one's result instead of fetching again); different Modules are fetched
// in parallel. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/annotations.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/runtime/archive_reader.h"
#include "modules/git_source.h"
#include "modules/source_limits.h"
#include "reconcilers/module_fetcher.h"

namespace cenv {

struct ModuleSourcesOptions {
  // Modules whose results are kept; the least recently used is dropped first. Default 512.
  size_t max_entries = 512;
  // Bytes of module files kept in the cache in all; past it the least recently used results
  // are dropped (the newest is always kept). Default 256 MiB.
  uint64_t max_bytes = 256ull << 20;
  // Bounds of an uploaded archive's files. Default: SourceLimits' defaults.
  modules::SourceLimits limits;
};

class ModuleSources final : public ModuleFetcher {
 public:
  using Options = ModuleSourcesOptions;
  // The value of annotation cenv.io/build-requested-at of Environment `name` ("" when it has
  // none or does not exist). Called on every fetch of a git-sourced Module; must be cheap and
  // thread-safe (the controller reads its Environment informer's cache).
  using BuildRequests = std::function<std::string(std::string_view environment)>;

  // `archives` and `git` must outlive the sources. `build_requests` may be empty: then only a
  // change of generation fetches a git source again.
  ModuleSources(ArchiveReader& archives, modules::GitFetcher& git, BuildRequests build_requests,
                Options options = {});

  // As ModuleFetcher::fetch. Errors name the Module and the field ("Module \"jq\":
  // spec.source.git.ref: ..."), and carry it as a FieldError.
  Result<FetchedModule> fetch(const Object& module) override;

  // How many fetches read a source (a tar or a Git repository, or parsed an inline spec) since
  // construction, cache misses only. For tests and metrics.
  uint64_t reads() const;

 private:
  // One Module's cached result. `mu` is held while that Module is being fetched.
  struct Slot {
    std::mutex mu;
    bool filled = false;                          // guarded by mu
    int64_t generation = 0;                       // guarded by mu
    std::string build_request;                    // guarded by mu: the annotation seen at the fetch
    std::optional<Result<FetchedModule>> result;  // guarded by mu
    uint64_t bytes = 0;                           // guarded by ModuleSources::mu_
    uint64_t last_use = 0;                        // guarded by ModuleSources::mu_
  };

  // Reads the Module's source, uncached.
  Result<FetchedModule> read(const Object& module);
  Result<FetchedModule> read_archive(const Object& module, const boost::json::object& source);
  Result<FetchedModule> read_git(const Object& module, const boost::json::object& git);
  Result<FetchedModule> read_inline(const Object& module);
  // The slot of `uid`, created when missing; marks it used.
  std::shared_ptr<Slot> slot(const std::string& uid);
  // Records the size of a slot's new result and drops least recently used slots past the
  // bounds (never `keep`).
  void account(const std::string& uid, const std::shared_ptr<Slot>& keep, uint64_t bytes);

  ArchiveReader& archives_;
  modules::GitFetcher& git_;
  const BuildRequests build_requests_;
  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;  // guarded by mu_
  uint64_t clock_ = 0;                                            // guarded by mu_
  uint64_t total_bytes_ = 0;                                      // guarded by mu_
  uint64_t reads_ = 0;                                            // guarded by mu_
};

// "sha256:<64 hex>" of a Module's spec without spec.options, its object keys sorted at every
// level: the revision of an inline Module. Equal specs give equal revisions whatever the order
// of their keys.
std::string inline_module_revision(const Object& module);

}  // namespace cenv
