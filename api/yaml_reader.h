#pragma once
// Reading manifests: multi-document YAML (via libyaml's event parser) or JSON, into Boost.JSON
// values. Every limit is enforced before or during parsing, never after, so that a hostile
// manifest (an alias bomb, deep nesting, a huge scalar) is refused cheaply.

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/limits.h"
#include "api/status.h"

namespace cenv {

// Defaults from api/limits.h.
struct ParseLimits {
  // Largest manifest accepted, in bytes (default 16 MiB).
  size_t max_bytes = kMaxManifestBytes;
  // Deepest nesting of maps and sequences (default 64).
  size_t max_depth = kMaxNestingDepth;
  // Most JSON nodes one document may expand to, aliases included (default 1,000,000);
  // this is what stops an alias bomb ("billion laughs").
  size_t max_nodes_per_document = kMaxNodesPerDocument;
  // Most nodes over all documents of one manifest (default 5,000,000).
  size_t max_total_nodes = kMaxNodesPerManifest;
  // Longest scalar, in bytes (default 1 MiB).
  size_t max_scalar_bytes = kMaxScalarBytes;
};

// One YAML document of a manifest.
struct Document {
  boost::json::value value;
  int index = 0;  // 1-based document number within the source
  int line = 0;   // 1-based line where the document starts
};

// Parses multi-document YAML (JSON is YAML). Empty documents are skipped. Errors are Invalid
// and say "<source>: line L: ..." or "<source>: document N: ...".
Result<std::vector<Document>> parse_manifest(std::string_view text, std::string_view source,
                                             const ParseLimits& limits = {});

// Reads a file and parses it; NotFound when missing, Invalid when too large or malformed.
Result<std::vector<Document>> read_manifest_file(const std::string& path,
                                                 const ParseLimits& limits = {});

}  // namespace cenv
