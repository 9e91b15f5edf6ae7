// Everything cenv and its controller create under $CENV_HOME is the user's alone: files 0600
// (or stricter), directories 0700, the socket 0600.

#include <catch2/catch.hpp>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("files and directories under CENV_HOME have no group or other permissions", "[e2e]") {
  CenvRunner cenv;
  auto applied = cenv.run("apply -f manifests/quickstart.yaml");
  INFO(applied.err);
  REQUIRE(applied.exit_code == 0);
  const std::string home = cenv.home().string();
  // What the controller made exists (so the check below looks at something).
  auto listed = shell("cd '" + home + "' && find . -mindepth 1 | sort");
  INFO("under CENV_HOME:\n" << listed);
  for (const char* path : {"./cenv.db", "./logs/controller.log", "./run/controller.pid",
                           "./run/controller.lock", "./run/controller.sock", "./run/http.addr"}) {
    CHECK(listed.find(std::string(path) + "\n") != std::string::npos);
  }
  // The runner's own files (stdin, stdout, stderr at the top) and the home directory itself
  // (made by the runner) are not cenv's.
  auto open_to_others =
      shell("cd '" + home +
            "' && find . -mindepth 1 ! -type l ! -path ./stdin ! -path ./stdout ! -path ./stderr "
            "-perm /077 -printf '%m %p\\n' | sort");
  CHECK(open_to_others == "");
}

TEST_CASE("the editor of cenv edit runs with the user's umask and not cenv's private one",
          "[e2e]") {
  CenvRunner cenv;
  const std::string label = cenv.label();
  const std::string instance = label.substr(label.find('=') + 1);
  const std::string seen = (cenv.home() / "editor-umask").string();
  // An "editor" that writes down its umask and fails, which cancels the edit.
  std::string cmd = "umask 0027 && cd '" CENV_SOURCE_DIR "' && CENV_HOME='" + cenv.home().string() +
                    "' CENV_INSTANCE='" + instance + "' CENV_CONTAINER_LABELS='" + label +
                    "' CENV_EDITOR='sh -c \"umask > " + seen +
                    "; exit 1\" editor' '" CENV_BINARY "' edit env default 2>&1";
  std::string out = shell(cmd);
  INFO(out);
  CHECK(out.find("the editor exited with an error") != std::string::npos);
  CHECK(CenvRunner::slurp(seen) == "0027\n");
}

}  // namespace
}  // namespace cenv::e2e
