// Build-time tool: writes a C++ source holding every CRD of crds/ converted to JSON, so that
// the binary parses JSON (fast) instead of YAML at start-up.
//
//   embed_crds OUT.cc crds/a.yaml crds/b.yaml ...
//
// Exits 1, naming the file, when a CRD is not valid YAML: a broken CRD fails the build.

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "api/crd_yaml.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: embed_crds OUT.cc CRD.yaml...\n";
    return 2;
  }
  std::ostringstream body;
  body << "// Generated from crds/ by api/tools/embed_crds.cc. Do not edit.\n"
          "#include <string>\n#include <vector>\nnamespace cenv {\n"
          "const std::vector<std::string>& embedded_crds_json() {\n"
          "  static const std::vector<std::string> crds = {\n";
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cerr << "embed_crds: cannot read " << argv[i] << "\n";
      return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto json = cenv::crd_yaml_to_json(text.str());
    if (!json.ok()) {
      std::cerr << "embed_crds: " << argv[i] << ": " << json.status().message() << "\n";
      return 1;
    }
    // A raw string literal; JSON text never holds the delimiter ")CENVCRD\"".
    body << "    R\"CENVCRD(" << boost::json::serialize(json.value()) << ")CENVCRD\",\n";
  }
  body << "  };\n  return crds;\n}\n}  // namespace cenv\n";
  std::string out = body.str();
  // Rewrite only when different, so that an unchanged crds/ rebuilds nothing.
  std::ifstream old(argv[1], std::ios::binary);
  std::ostringstream old_text;
  if (old) old_text << old.rdbuf();
  if (old && old_text.str() == out) return 0;
  std::ofstream f(argv[1], std::ios::binary | std::ios::trunc);
  f << out;
  return f ? 0 : 1;
}
