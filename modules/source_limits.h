#pragma once
// SourceLimits bounds what reading a module source (a packed folder, a tar, a Git tree) may
// take in; BoundedTree fills a FileTree and refuses the file that would cross a bound, before
// its bytes are read, so a hostile source stops at the bound instead of after expanding.

#include <cstdint>
#include <string>
#include <string_view>

#include "api/status.h"
#include "modules/file_tree.h"

namespace cenv::modules {

// Bounds of one module source. Every field is a maximum; 0 is not "unlimited".
struct SourceLimits {
  // Sum of all files' sizes. Default 64 MiB.
  uint64_t max_total_bytes = 64ull << 20;
  // Number of files (directories are not counted). Default 10,000.
  uint64_t max_files = 10'000;
  // Size of one file. Default 64 MiB (the total bounds it first unless lowered).
  uint64_t max_file_bytes = 64ull << 20;
};

// A FileTree being filled under SourceLimits. `what` names the source in messages
// ("tar entry", "file", "git tree entry"). Not thread-safe; one reader fills one tree.
class BoundedTree {
 public:
  BoundedTree(const SourceLimits& limits, std::string what);

  // Checks that a file `path` of `size` bytes may be added next: a valid tree path not yet
  // present, and one more file of that size keeps every limit. Call it before reading the
  // file's bytes. Invalid names the path and the bound crossed (or why the path is bad).
  Status admit(std::string_view path, uint64_t size) const;

  // admit()s and stores the file. The data's actual size is what is checked, so a file that
  // grew after its size was admitted is still bounded.
  Status add(std::string path, std::string data, bool executable);

  // Refuses a path that is both a file and the parent directory of another file ("a" and
  // "a/b"), which no file system can hold; otherwise hands the tree over.
  Result<FileTree> finish() &&;

  // Bytes of one file the reader may still read before a bound is crossed.
  uint64_t remaining_for_one_file() const;

 private:
  SourceLimits limits_;
  std::string what_;
  FileTree tree_;
  uint64_t total_bytes_ = 0;
};

}  // namespace cenv::modules
