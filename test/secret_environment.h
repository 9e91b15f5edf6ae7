#pragma once
// secret_environment: an Environment manifest object holding secrets, for the tests of
// secrets at rest.

#include <boost/json.hpp>
#include <string>

#include "api/object.h"

namespace cenv::testing {

// Environment `name` with spec.secrets = `secrets`, as a manifest has it.
inline Object secret_environment(const std::string& name, boost::json::object secrets) {
  Object env;
  env.json()["apiVersion"] = kApiVersion;
  env.json()["kind"] = "Environment";
  env.set_name(name);
  env.spec()["secrets"] = std::move(secrets);
  return env;
}

}  // namespace cenv::testing
