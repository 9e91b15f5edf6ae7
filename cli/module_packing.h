#pragma once
// Module sources on the client's disk: a Module whose spec.source.path names a folder is packed
// here (the folder resolved against its manifest's directory, read under limits, tarred) and
// sent with the apply, so a controller never reads the client's files and a remote one works
// the same as the local one.

#include <string>
#include <vector>

#include "api/status.h"
#include "cli/manifest_reader.h"

namespace cenv::cli {

// A packed folder, named by the digest of its files (modules/file_tree.h tree_digest).
struct PackedSource {
  std::string digest;
  std::string data;  // gzip-compressed tar
};

// For each Module of `manifests` with spec.source.path: packs the folder and sets
// spec.source.digest to its digest. Returns the packed folders, one per digest. Invalid or
// NotFound naming the manifest, the object and spec.source.path when a folder cannot be packed
// (missing, outside the manifest's directory, no cenv-module.yaml, over the size limits), or
// when the packed folders together pass what one apply may carry.
Result<std::vector<PackedSource>> pack_module_sources(std::vector<ManifestObject>& manifests);

}  // namespace cenv::cli
