#pragma once
// A FileTree to and from tar bytes (libarchive): how a module folder travels from the CLI to
// the controller, and how a build context reaches Docker. Both functions are pure (no files,
// no global state) and thread-safe.

#include <string>
#include <string_view>

#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/source_limits.h"

namespace cenv::modules {

// Writes `tree` as a tar (restricted pax: ustar headers, a pax header only for a path ustar
// cannot hold), gzip-compressed when `gzip`. Equal trees give equal bytes: entries in path
// order, each parent directory once (0755) before its first file, files 0644 or 0755, mtime 0,
// uid/gid 0, no user or group names, no gzip timestamp. Internal (libarchive's message) if
// libarchive fails; Invalid if a path is not a valid tree path.
Result<std::string> write_tar(const FileTree& tree, bool gzip);

// Reads a tar, plain or gzip-compressed (detected from the bytes), into a FileTree. A leading
// "./" is stripped and directories are skipped (implied by the paths). Invalid, naming the
// entry, for an absolute path, a '..' component, a symbolic or hard link, a device, a fifo or a
// socket, a duplicate path, or input that is not a tar. Invalid when a limit is crossed: the
// decompressed stream is bounded while it is decompressed (limits.max_total_bytes plus 4 KiB
// of headers per allowed file plus 1 MiB), so a compression bomb stops at the bound.
Result<FileTree> read_tar(std::string_view bytes, const SourceLimits& limits);

}  // namespace cenv::modules
