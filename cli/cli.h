#pragma once
// Entry point of the `cenv` binary, apart from main() so tests can drive it in process.

#include <sys/types.h>

namespace cenv::cli {
// Runs one cenv command line; returns the process exit code. `user_umask` is the umask of the
// programs cenv runs for the user ($EDITOR, the diff program); main() runs cenv under 077.
int run(int argc, char** argv, mode_t user_umask = 022);
}  // namespace cenv::cli
