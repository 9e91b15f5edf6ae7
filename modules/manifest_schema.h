#pragma once
// The JSON schema of cenv-module.yaml (crds/schemas/cenv-module.yaml, compiled into the
// library), checked with the API's own schema validation so that a manifest's errors read as
// an object's do ("requires.apt[0]: Invalid value: ..."). Not a kind: the API never serves it.

#include <boost/json.hpp>

#include "api/status.h"

namespace cenv::modules {

// Validates a parsed manifest against the schema; the values of `services` are checked against
// crds/service.yaml's spec schema. Drops fields set to null (null means absent, as for objects)
// and fills the Service specs' defaults into `manifest`. Ok when valid; Invalid with one
// FieldError per problem, paths from the manifest's root ("options[my-opt].type", never
// "spec."), unknown fields included; Internal when the built-in schema does not load.
// Thread-safe.
Status validate_manifest_schema(boost::json::object& manifest);

}  // namespace cenv::modules
