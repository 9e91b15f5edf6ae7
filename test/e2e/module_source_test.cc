// `cenv apply -f` of a Module whose spec.source.path names a folder: the CLI packs the folder
// (relative to the manifest's directory), sets spec.source.digest and sends the archive with
// the apply. The same folder applies as unchanged; a changed file is a new digest; a path
// that leaves the manifest's directory is refused before anything is sent.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

std::string digest_of(CenvRunner& cenv) {
  auto r = cenv.run("get mod jq -n modsrc -o json");
  REQUIRE(r.exit_code == 0);
  auto at = r.out.find("\"sha256:");
  REQUIRE(at != std::string::npos);
  return r.out.substr(at + 1, 7 + 64);
}

TEST_CASE("apply packs a module folder and sends it once per content", "[e2e][modules]") {
  CenvRunner cenv;
  const fs::path dir = cenv.home() / "project";
  write_file(dir / "mods/jq/cenv-module.yaml", "name: jq\nversion: 1.0.0\nrequires: {apt: [jq]}\n");
  write_file(dir / "mods/jq/install.sh", "#!/bin/sh\necho hi\n");
  write_file(dir / "env.yaml", R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: modsrc}
spec: {}
---
apiVersion: cenv.io/v1
kind: Module
metadata: {name: jq, namespace: modsrc}
spec:
  source: {path: mods/jq}
)");
  // From another working directory: the path is relative to the manifest, not the cwd.
  auto first = cenv.run("apply -f " + (dir / "env.yaml").string());
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(has(first.out, "module/jq created"));
  const std::string digest = digest_of(cenv);
  CHECK(digest.rfind("sha256:", 0) == 0);
  CHECK(digest.size() == 7 + 64);

  auto again = cenv.run("apply -f " + (dir / "env.yaml").string());
  CHECK(again.exit_code == 0);
  CHECK(has(again.out, "module/jq unchanged"));
  CHECK(digest_of(cenv) == digest);

  write_file(dir / "mods/jq/install.sh", "#!/bin/sh\necho changed\n");
  auto changed = cenv.run("apply -f " + (dir / "env.yaml").string());
  CHECK(changed.exit_code == 0);
  CHECK(has(changed.out, "module/jq configured"));
  CHECK(digest_of(cenv) != digest);

  cenv.run("delete env modsrc --wait=false");
}

TEST_CASE("a module path outside the manifest's directory is refused naming the field",
          "[e2e][modules]") {
  CenvRunner cenv;
  const fs::path dir = cenv.home() / "project";
  write_file(cenv.home() / "outside/cenv-module.yaml", "name: out\nversion: 1.0.0\n");
  write_file(dir / "m.yaml", R"(apiVersion: cenv.io/v1
kind: Module
metadata: {name: out, namespace: default}
spec:
  source: {path: ../outside}
)");
  auto r = cenv.run("apply -f " + (dir / "m.yaml").string());
  INFO(r.out << r.err);
  CHECK(r.exit_code != 0);
  CHECK(has(r.err, "m.yaml (document 1)"));
  CHECK(has(r.err, "Module out"));
  CHECK(has(r.err, "spec.source.path \"../outside\""));
  CHECK(has(r.err, "outside the manifest's directory"));

  write_file(dir / "empty/README", "no manifest here\n");
  write_file(dir / "n.yaml", R"(apiVersion: cenv.io/v1
kind: Module
metadata: {name: empty, namespace: default}
spec:
  source: {path: empty}
)");
  auto none = cenv.run("apply -f " + (dir / "n.yaml").string());
  CHECK(none.exit_code != 0);
  CHECK(has(none.err, "cenv-module.yaml"));
  // Refused before anything was sent: nothing stored (the controller was not even needed).
  auto get = cenv.run("get mod -A -o name");
  CHECK_FALSE(has(get.out, "module/"));
}

}  // namespace
}  // namespace cenv::e2e
