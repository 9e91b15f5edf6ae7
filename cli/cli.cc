#include "cli/cli.h"
namespace cenv::cli {
int run(int, char**) { return 0; }
}  // namespace cenv::cli
