#pragma once
// Reads `-f` arguments (files, directories, "-" for stdin) into objects with their sources.

#include <filesystem>
#include <string>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "api/yaml_codec.h"

namespace cenv::cli {

struct ManifestObject {
  Object object;
  std::string source;  // "path (document N)" or "path (document N, item M)" for a List
  // The directory of the file it came from (the working directory for stdin): what a Module's
  // spec.source.path is relative to.
  std::filesystem::path dir;
};

// Reads every path: a directory contributes its *.yaml, *.yml and *.json files in name order
// (and those of sub-directories when `recursive`). A document of kind List contributes its
// items. Invalid / NotFound naming the file (and document) on the first bad input; an input
// with no objects at all is Invalid ("no objects passed").
Result<std::vector<ManifestObject>> read_manifests(const std::vector<std::string>& paths,
                                                   bool recursive, const ParseLimits& limits = {});

}  // namespace cenv::cli
