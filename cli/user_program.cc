#include "cli/user_program.h"

#include <cstdio>

namespace cenv::cli {

std::string with_umask(mode_t mask, const std::string& command) {
  char octal[8];
  snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mask & 0777));
  return std::string("umask ") + octal + "; " + command;
}

}  // namespace cenv::cli
