#pragma once
// CRD text (YAML, trusted: from crds/) to JSON, as KindRegistry reads it. Plain scalars are
// typed as YAML 1.2's core schema types them (true/false, null, integers, floats); quoted
// scalars stay strings. Kept apart from kinds.cc so that the build-time tool that embeds crds/
// as JSON (api/tools/embed_crds.cc) converts exactly as the registry would.

#include <boost/json.hpp>
#include <string_view>

#include "api/status.h"

namespace cenv {

// Converts one YAML document; Invalid on a YAML syntax error, a non-scalar map key, or
// nesting deeper than 64 levels.
Result<boost::json::value> crd_yaml_to_json(std::string_view text);

}  // namespace cenv
