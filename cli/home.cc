#include "cli/home.h"

#include <sys/stat.h>

#include <cstdlib>

namespace cenv::cli {

Home Home::from_env() {
  if (const char* h = std::getenv("CENV_HOME"); h && *h) return {std::filesystem::path(h)};
  const char* home = std::getenv("HOME");
  return {std::filesystem::path(home && *home ? home : "/root") / ".cenv"};
}

Status Home::ensure() const {
  for (const auto& dir : {root, root / "run", root / "logs"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
    chmod(dir.c_str(), 0700);
  }
  return Status::Ok();
}

}  // namespace cenv::cli
