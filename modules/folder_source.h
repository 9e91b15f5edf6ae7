#pragma once
// A module whose Module.spec.source.path names a folder on the client's machine: the CLI
// resolves the path against the manifest's directory, reads the folder into a FileTree and
// sends it packed (tar_archive.h) with the apply, so a remote controller never needs the
// client's files. Both functions only read the file system; they are thread-safe.

#include <filesystem>
#include <string_view>

#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/source_limits.h"

namespace cenv::modules {

// Resolves `path_field` (spec.source.path as written) against `manifest_dir`, the directory
// of the manifest file that holds it. Returns the canonical folder (no '..', no symbolic link)
// when it stays inside manifest_dir's canonical path after resolving '..' and symbolic links
// (as kustomize's load restrictor), is a directory and holds a regular cenv-module.yaml.
// Each failure names the path as written and why: Invalid for an empty path, one that
// resolves outside the manifest's directory, or one that is not a directory; NotFound for a
// path or a manifest directory that does not exist, or a folder without cenv-module.yaml.
Result<std::filesystem::path> resolve_module_path(const std::filesystem::path& manifest_dir,
                                                  std::string_view path_field);

// Reads every file under `root` into a FileTree (paths relative to root). Regular files keep
// their executable bit (any of u/g/o x). A symbolic link is stored as the regular file it
// points to when its target stays inside root; a link that leaves root, dangles or points to a
// directory is refused, as is any other non-regular file (fifo, socket, device). Entries named
// ".git" (a repository's directory or a worktree's file) are skipped at any depth. Limits are
// enforced while walking (a file is refused before it is read; at most max_files directories
// are entered), so a huge folder stops early. NotFound if root does
// not exist; Invalid naming the file for everything else.
Result<FileTree> read_folder(const std::filesystem::path& root, const SourceLimits& limits);

}  // namespace cenv::modules
