#pragma once
// `cenv explain KIND[.field.path] [--recursive]`: documentation of a kind's fields, printed
// from its schema in crds/, as `kubectl explain` does.

#include <ostream>
#include <string>

#include "api/kinds.h"
#include "api/status.h"

namespace cenv::cli {

// Writes the explanation of `path` ("svc.spec.ports") to `out`; NotFound for an unknown kind
// or field, naming it.
Status explain(const KindRegistry& kinds, const std::string& path, bool recursive,
               std::ostream& out);

// The kind of a schema as kubectl prints it: "<string>", "<[]Object>", "<map[string]string>".
std::string schema_type_name(const boost::json::object& schema);

}  // namespace cenv::cli
