#pragma once
// A module's files held in memory: what a source (a packed folder, a Git tree, an inline spec)
// yields and what an image recipe's build context is made of. Paths are relative, '/'-separated,
// without '.' or '..' components; only regular files are held (directories are implied by the
// paths, symbolic links are resolved or refused by whoever builds the tree).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv::modules {

// One regular file: its bytes and whether it is executable (the only mode bit that survives
// packing; everything is written 0644 or 0755).
struct FileEntry {
  std::string data;
  bool executable = false;
};

// Files by relative path, in byte order of the path (so iteration is deterministic).
struct FileTree {
  std::map<std::string, FileEntry> files;

  // Total bytes of all files' data.
  uint64_t total_bytes() const;
};

// Checks that `path` may be a key of a FileTree: relative, '/'-separated, no empty, '.' or
// '..' component, no NUL, at most 4096 bytes. Invalid names the path.
Status check_tree_path(std::string_view path);

// "sha256:<64 hex>" of the tree's canonical encoding (each file's path, mode and data, in path
// order, length-prefixed): equal trees give equal digests whatever they were read from (a
// folder, a tar, a Git tree), and any change of a path, a byte or the executable bit changes
// it.
std::string tree_digest(const FileTree& tree);

// "<64 hex>" SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace cenv::modules
