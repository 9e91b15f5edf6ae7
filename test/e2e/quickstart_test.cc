// The quickstart as `make run` runs it (scripts/quickstart), on the README's manifest with only
// the web service's host port changed to a free one: everything ends Ready, the command's
// output and the page the web service serves are shown.

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("the quickstart waits for everything Ready and shows the output and the page",
          "[e2e][docker]") {
  CenvRunner cenv;
  const int port = free_port();
  REQUIRE(port > 0);
  std::string manifest = CenvRunner::slurp(CENV_SOURCE_DIR "/manifests/quickstart.yaml");
  REQUIRE(has(manifest, "hostPort: 18080"));
  manifest = std::regex_replace(manifest, std::regex("hostPort: 18080"),
                                "hostPort: " + std::to_string(port));
  const auto file = cenv.home() / "quickstart.yaml";
  write_file(file, manifest);

  auto r = cenv.run_program("scripts/quickstart '" + file.string() + "'");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // apply --wait showed what it waited for, and returned once all was Ready.
  CHECK(has(r.out, "environment/demo ready"));
  CHECK(has(r.out, "service/web ready"));
  CHECK(has(r.out, "commandrun/hello complete"));
  CHECK(std::regex_search(r.out, std::regex(R"(\ndemo +Ready +cenv/base:bookworm)")));
  CHECK(std::regex_search(r.out, std::regex(R"(\ndemo +web +Ready +True +True +0 +127\.0\.0\.1:)" +
                                            std::to_string(port))));
  CHECK(std::regex_search(r.out, std::regex(R"(\ndemo +hello +Succeeded +0 )")));
  // The command's output, then the page.
  CHECK(has(r.out, "logs cr/hello -n demo\nhello from cenv\n"));
  CHECK(has(r.out, "curl http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(has(r.out, "<h1>hello from cenv</h1>"));
  // And where the dashboard is.
  CHECK(std::regex_search(r.out, std::regex(R"(http://127\.0\.0\.1:[0-9]+/ui/)")));
}

}  // namespace
}  // namespace cenv::e2e
