#include "api/version.h"

namespace cenv::api {

std::string version_string() {
  return std::string(CENV_VERSION) + " (" + std::string(git_commit()) + ")";
}

}  // namespace cenv::api
