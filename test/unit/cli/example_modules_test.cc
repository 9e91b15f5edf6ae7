// The example modules of manifests/examples/modules parse, hold their install scripts, and the
// manifest that applies them packs every folder as `cenv apply` sends it.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/manifest_reader.h"
#include "cli/module_packing.h"
#include "modules/folder_source.h"
#include "modules/manifest.h"

namespace cenv::cli {
namespace {

namespace fs = std::filesystem;

const fs::path kExamples = fs::path(CENV_SOURCE_DIR) / "manifests/examples/modules";

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("each example module's cenv-module.yaml parses", "[cli][examples]") {
  for (const char* name : {"jq", "greeter", "json-report"}) {
    INFO(name);
    fs::path file = kExamples / name / "cenv-module.yaml";
    auto manifest = modules::parse_module_manifest(read(file), file.string());
    INFO(manifest.status().to_string());
    REQUIRE(manifest.ok());
    CHECK(manifest->name == name);
    // Read as the controller reads it: the install script must be one of its files.
    auto tree = modules::read_folder(kExamples / name, modules::SourceLimits{});
    REQUIRE(tree.ok());
    auto from_tree = modules::manifest_from_tree(tree.value(), name);
    INFO(from_tree.status().to_string());
    CHECK(from_tree.ok());
  }
}

TEST_CASE("the example modules show packages a script command service option and a dependency",
          "[cli][examples]") {
  auto parse = [](const char* name) {
    fs::path file = kExamples / name / "cenv-module.yaml";
    auto m = modules::parse_module_manifest(read(file), file.string());
    REQUIRE(m.ok());
    return m.value();
  };
  auto jq = parse("jq");
  REQUIRE(jq.requirements.apt.size() == 1);
  CHECK(jq.requirements.apt[0].package == "jq");
  auto greeter = parse("greeter");
  CHECK(greeter.install.kind == modules::InstallStep::Kind::kScriptFile);
  CHECK(greeter.commands.count("greet") == 1);
  CHECK(greeter.services.count("web") == 1);
  CHECK(greeter.options.count("greeting") == 1);
  auto report = parse("json-report");
  REQUIRE(report.requirements.modules.size() == 1);
  CHECK(report.requirements.modules[0].name == "jq");
  CHECK(report.requirements.modules[0].range.has_value());
}

TEST_CASE("the examples manifest packs every module folder", "[cli][examples]") {
  auto manifests = read_manifests({(kExamples / "modules.yaml").string()}, false);
  INFO(manifests.status().to_string());
  REQUIRE(manifests.ok());
  REQUIRE(manifests->size() == 4);
  auto packed = pack_module_sources(manifests.value());
  INFO(packed.status().to_string());
  REQUIRE(packed.ok());
  CHECK(packed->size() == 3);
  for (const auto& m : manifests.value()) {
    if (m.object.kind() != "Module") continue;
    INFO(m.object.name());
    CHECK(m.object.spec_or_null()->at("source").as_object().contains("digest"));
  }
}

}  // namespace
}  // namespace cenv::cli
