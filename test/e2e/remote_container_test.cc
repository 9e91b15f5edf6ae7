// The shared image end to end (issue 12 point 2): the image built from this build's binary
// (scripts/build-image, under a tag of the test's own), a controller started in it with
// `controller start --container`, and a client on the host talking to it over mutual TLS.
// The image identity of the two matches: the same build, the same CA.

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "test/e2e/cenv_runner.h"
#include "test/e2e/remote_fixture.h"

namespace cenv::e2e {
namespace {

TEST_CASE("a controller in the shared image serves a client on the host over mutual TLS",
          "[e2e][remote][docker]") {
  CenvRunner cenv;
  const std::string tag = "cenv-test/cenv:" + cenv.docker_name("image").substr(5);
  const std::string built =
      shell("'" CENV_SOURCE_DIR "/scripts/build-image' --binary '" CENV_BINARY "' --tag '" + tag +
            "' 2>&1");
  INFO(built);
  // Whatever the test's end, the container, its volume and the image go (the image carries no
  // label of the run, so the runner's own clean-up would miss it).
  struct Cleanup {
    CenvRunner& cenv;
    std::string tag;
    ~Cleanup() {
      (void)cenv.run("controller stop --container");
      cenv.remove_docker_objects();
      shell("docker rmi -f '" + tag + "' >/dev/null 2>&1");
    }
  } cleanup{cenv, tag};
  REQUIRE(has(built, tag));
  const std::string certs = (cenv.home() / "certs").string();
  REQUIRE(cenv.run("certs init --dir '" + certs + "'").exit_code == 0);

  // A controller that cannot serve (no certificates in the folder) is a clear error, and no
  // container is left behind.
  const std::string empty = (cenv.home() / "no-certs").string();
  std::filesystem::create_directories(empty);
  auto refused = cenv.run("controller start --container --image '" + tag +
                          "' --listen 127.0.0.1:0 --certs '" + empty + "'");
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(has(refused.err, "stopped before it served"));
  CHECK(has(refused.err, "/etc/cenv/certs/ca.crt"));
  CHECK(shell("docker ps -aq --filter name=" + cenv.docker_name("controller")) == "");

  auto started = cenv.run("controller start --container --image '" + tag +
                          "' --listen 127.0.0.1:0 --certs '" + certs + "'");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  // "... mutual TLS on 127.0.0.1:PORT"
  const std::string marker = "mutual TLS on ";
  auto at = started.out.find(marker);
  REQUIRE(at != std::string::npos);
  std::string address = started.out.substr(at + marker.size());
  address = address.substr(0, address.find('\n'));
  REQUIRE(cenv.run("context add box --server " + address + " --certs '" + certs + "'").exit_code ==
          0);

  // The controller may take a moment to listen.
  RunResult version;
  for (int i = 0; i < 100; ++i) {
    version = cenv.run("version --context box");
    if (version.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  INFO(version.out << version.err);
  REQUIRE(version.exit_code == 0);
  CHECK(has(version.out, "Server Identity:"));
  auto ran = cenv.run("run --context box -- sh -c 'echo from the container controller; exit 4'");
  INFO(ran.err);
  CHECK(ran.exit_code == 4);
  CHECK(ran.out == "from the container controller\n");
  // No local controller was started for it.
  CHECK(cenv.run("controller status").exit_code == 3);

  CHECK(cenv.run("controller stop --container").exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
