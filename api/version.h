#pragma once

#include <string>
#include <string_view>

namespace cenv::api {

// The git commit the binary was built from ("unknown" outside a checkout). Lives in a
// generated translation unit so that a new commit rebuilds one file, not the whole tree.
std::string_view git_commit();

// "0.1.0 (abc123def456)": the version of this binary, client and server alike.
std::string version_string();

}  // namespace cenv::api
