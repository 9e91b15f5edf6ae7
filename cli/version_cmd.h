#pragma once
// `cenv version [--client]` and `cenv api-resources`: what this binary is and serves.

#include "cli/context.h"

namespace cenv::cli {

// Prints the client's version and, unless `client_only`, the server's (or that none answers:
// `version` never starts a controller). Returns 0.
int run_version(const Context& context, bool client_only);

// Prints the kinds built into this binary as a table (NAME, SHORTNAMES, APIVERSION,
// NAMESPACED, KIND), as `kubectl api-resources`. Returns 0.
int run_api_resources();

}  // namespace cenv::cli
