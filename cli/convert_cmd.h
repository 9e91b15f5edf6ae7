#pragma once
// `cenv convert -f docker-compose.yml [-o DIR] [--environment NAME]`: a docker compose file as
// cenv manifests (an Environment and one Service per compose service), as Kompose does for
// Kubernetes. Talks to no controller.

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace cenv::cli {

struct ConvertFlags {
  std::string file;         // the compose file
  std::string output_dir;   // empty: a multi-document YAML stream on stdout
  std::string environment;  // empty: the compose file's name, else its folder's name
};

// Converts flags.file: manifests on `out` (or one file per object in flags.output_dir, whose
// names are printed on `out`), each warning as one "warning: ..." line on `err`. Returns 0, or
// 1 after printing one error naming the file (and the key) when the file cannot be read or
// converted or an object it would write is invalid.
int run_convert(const ConvertFlags& flags, std::ostream& out, std::ostream& err);

// Registers `convert` on `app`; its callback sets `rc`.
void add_convert(CLI::App& app, ConvertFlags& flags, int& rc);

}  // namespace cenv::cli
