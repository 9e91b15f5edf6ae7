#pragma once
// FakeGitFetcher: the git fetcher seam (modules/git_source.h) of tests. Holds checkouts by
// (url, ref); a fetch of a known pair returns its checkout (the files under `subdir`, which
// must be a folder of it), an unknown url answers Unavailable and an unknown ref NotFound, as
// Libgit2Fetcher does. Counts fetches. Header-only (the fakes library does not link
// cenv_modules); thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "modules/git_source.h"

namespace cenv::testing {

class FakeGitFetcher final : public modules::GitFetcher {
 public:
  // Makes `ref` of `url` point at `commit` with `files` (replacing what it pointed at).
  void set(const std::string& url, const std::string& ref, std::string commit,
           modules::FileTree files) {
    std::lock_guard lock(mu_);
    repos_[url][ref] = {std::move(commit), std::move(files)};
  }

  Result<modules::GitCheckout> fetch(const modules::GitSourceSpec& spec) override {
    std::lock_guard lock(mu_);
    ++fetches_;
    auto repo = repos_.find(spec.url);
    if (repo == repos_.end()) {
      return Status::Unavailable("git " + spec.url + ": cannot fetch: could not connect");
    }
    auto ref = repo->second.find(spec.ref);
    if (ref == repo->second.end()) {
      return Status::NotFound("git ref \"" + spec.ref + "\" not found in " + spec.url);
    }
    if (spec.subdir.empty()) return ref->second;
    modules::GitCheckout out{ref->second.commit, {}};
    const std::string prefix = spec.subdir + "/";
    for (const auto& [path, entry] : ref->second.files.files) {
      if (path.rfind(prefix, 0) == 0) out.files.files[path.substr(prefix.size())] = entry;
    }
    if (out.files.files.empty()) {
      return Status::NotFound("git " + spec.url + " at " + ref->second.commit.substr(0, 12) +
                              ": subdir \"" + spec.subdir + "\" not found");
    }
    return out;
  }

  // Fetches asked for so far.
  int fetches() const {
    std::lock_guard lock(mu_);
    return fetches_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, modules::GitCheckout>> repos_;  // guarded by mu_
  int fetches_ = 0;                                                           // guarded by mu_
};

}  // namespace cenv::testing
