// A module's whole path as a user walks it, against the real controller and dockerd: apply an
// Environment with a module folder and --wait for its runtime image, run the module's command
// with `cenv run MODULE:COMMAND`, change an option and --wait for the rebuild, see --wait stop at
// once on a bad option and on a failing install, then delete the Module and see the Environment
// go back to its base image. The module ships a script only (no apt), so the build takes seconds.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

TEST_CASE("a module command runs in the built image and deleting the Module rebuilds without it",
          "[e2e][modules][docker]") {
  CenvRunner cenv;
  const fs::path dir = cenv.home() / "project";
  write_file(dir / "mods/hello/cenv-module.yaml", R"(name: hello
version: 1.2.0
options:
  greeting: {type: string, default: Hello, description: First word}
  times: {type: integer, default: 1, description: Unused}
install: install.sh
commands:
  greet: {command: [hello], args: [world], description: Greets}
)");
  write_file(dir / "mods/hello/install.sh",
             "#!/bin/sh\nset -e\nprintf '#!/bin/sh\\necho \"%s, $*\"\\n' \"$GREETING\" "
             "> /usr/local/bin/hello\nchmod 755 /usr/local/bin/hello\n");
  fs::permissions(dir / "mods/hello/install.sh", fs::perms::owner_all, fs::perm_options::add);
  auto write_env = [&](const std::string& options) {
    write_file(dir / "env.yaml", R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: modbuild}
spec: {baseImage: "cenv/base:bookworm"}
---
apiVersion: cenv.io/v1
kind: Module
metadata: {name: hello, namespace: modbuild}
spec:
  source: {path: mods/hello}
  options: )" + options + R"(
---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: idle, namespace: modbuild}
spec:
  command: [sleep, "100000"]
)");
  };
  // The image Service idle runs, and the Environment's.
  auto images = [&] {
    auto svc = cenv.run("get svc idle -n modbuild -o json");
    auto at = svc.out.find("\"image\": \"");
    std::string runs = at == std::string::npos
                           ? ""
                           : svc.out.substr(at + 10, svc.out.find('"', at + 10) - at - 10);
    auto env = cenv.run("env image modbuild");
    return std::make_pair(runs, env.out.substr(0, env.out.find('\n')));
  };
  const std::string apply_wait = "apply -f " + (dir / "env.yaml").string() + " --wait --timeout 5m";
  write_env("{greeting: Hi}");
  auto applied = cenv.run(apply_wait);
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  CHECK(has(applied.out, "environment/modbuild ready"));

  auto image = cenv.run("env image modbuild");
  REQUIRE(image.exit_code == 0);
  CHECK(has(image.out, "-runtime/modbuild:"));

  // The declared command with its default args, then with the user's.
  auto greet = cenv.run("run -n modbuild hello:greet");
  INFO(greet.out << greet.err);
  CHECK(greet.exit_code == 0);
  CHECK(greet.out == "Hi, world\n");
  auto named = cenv.run("run -n modbuild hello:greet -- Ada");
  CHECK(named.out == "Hi, Ada\n");
  auto unknown = cenv.run("run -n modbuild hello:nope");
  CHECK(unknown.exit_code != 0);
  CHECK(has(unknown.err, "greet"));

  // A changed option: --wait returns once the Environment runs the image built with it (its
  // Ready condition from before the change does not count).
  write_env("{greeting: Yo}");
  auto changed = cenv.run(apply_wait);
  INFO(changed.out << changed.err);
  REQUIRE(changed.exit_code == 0);
  CHECK(cenv.run("run -n modbuild hello:greet").out == "Yo, world\n");
  // ... and once the Services applied with it run that image.
  auto [runs, env_image] = images();
  CHECK(runs == env_image);

  // What cannot get Ready until the user changes it ends --wait at once, naming the cause.
  write_env("{greeting: Yo, times: many}");
  auto bad_option = cenv.run(apply_wait);
  INFO(bad_option.err);
  CHECK(bad_option.exit_code != 0);
  CHECK(has(bad_option.err, "module/hello is stalled"));
  CHECK(has(bad_option.err, "spec.options.times"));
  CHECK_FALSE(has(bad_option.err, "timed out"));
  write_file(dir / "mods/hello/install.sh", "#!/bin/sh\necho cannot install >&2\nexit 3\n");
  write_env("{greeting: Yo}");
  auto failing = cenv.run(apply_wait);
  INFO(failing.err);
  CHECK(failing.exit_code != 0);
  CHECK(has(failing.err, "environment/modbuild is stalled"));
  CHECK(has(failing.err, "BuildFailed"));
  CHECK_FALSE(has(failing.err, "timed out"));
  // The image built before the failure keeps serving.
  CHECK(cenv.run("run -n modbuild hello:greet").out == "Yo, world\n");

  // Without the Module the Environment runs its base image again.
  REQUIRE(cenv.run("delete mod hello -n modbuild").exit_code == 0);
  CHECK(eventually(
      [&] {
        auto r = cenv.run("env image modbuild");
        return r.exit_code == 0 && r.out == "cenv/base:bookworm\n";
      },
      std::chrono::seconds(120)));
  auto none = cenv.run("run -n modbuild -- sh -c 'command -v hello || echo absent'");
  CHECK(none.out == "absent\n");

  REQUIRE(cenv.run("delete env modbuild").exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
