#include "cli/cli.h"
int main(int argc, char** argv) { return cenv::cli::run(argc, argv); }
