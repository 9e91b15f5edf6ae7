#pragma once
// FakeArchiveReader: an ArchiveReader (controller/runtime/archive_reader.h) over a map of
// archives by digest, counting reads. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "controller/runtime/archive_reader.h"

namespace cenv::testing {

class FakeArchiveReader final : public ArchiveReader {
 public:
  // Stores `bytes` under `digest` (whatever the bytes hold: tests store mismatches too).
  void put(const std::string& digest, std::string bytes) {
    std::lock_guard lock(mu_);
    archives_[digest] = std::move(bytes);
  }

  Result<std::string> get_archive(const std::string& digest) override {
    std::lock_guard lock(mu_);
    ++reads_;
    auto it = archives_.find(digest);
    if (it == archives_.end()) return Status::NotFound("no archive " + digest);
    return it->second;
  }

  int reads() const {
    std::lock_guard lock(mu_);
    return reads_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> archives_;  // guarded by mu_
  int reads_ = 0;                                // guarded by mu_
};

}  // namespace cenv::testing
