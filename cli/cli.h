#pragma once
// Entry point of the `cenv` binary, apart from main() so tests can drive it in process.
namespace cenv::cli {
// Runs one cenv command line; returns the process exit code.
int run(int argc, char** argv);
}  // namespace cenv::cli
