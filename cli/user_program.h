#pragma once
// The programs cenv runs for the user ($EDITOR for `cenv edit`, the diff program of `cenv
// diff`) run with the user's umask: main() runs cenv itself under 077 (files private).

#include <sys/types.h>

#include <string>

namespace cenv::cli {

// `command` (for /bin/sh) prefixed to run with umask `mask`: "umask 0022; command".
std::string with_umask(mode_t mask, const std::string& command);

}  // namespace cenv::cli
