#pragma once
// The objects a manifest file holds: its documents (yaml_reader.h) as objects, each with the
// source its errors are prefixed with. One home for what `cenv apply -f` and an Environment's
// Git source both read.

#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "api/yaml_reader.h"

namespace cenv {

struct SourcedObject {
  Object object;
  std::string source;  // "path (document N)" or "path (document N, item M)" for a List
};

// Whether a file named `path` is read as a manifest: *.yaml, *.yml or *.json.
bool is_manifest_file_name(std::string_view path);

// The objects of `docs` read from `path`: each document that is an object, the items of a
// document of kind List. Invalid naming the path and document (and item) for a document that
// is not an object, a List without items, or an object holding a number JSON cannot hold.
// The objects are moved out of `docs` (pass it with std::move when it is not needed after).
Result<std::vector<SourcedObject>> manifest_objects(std::vector<Document> docs,
                                                    std::string_view path);

}  // namespace cenv
