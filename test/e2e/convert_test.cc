// `cenv convert` end to end: each test compose file (test/data/compose/) converted into its own
// Environment, the output applied with `cenv apply --wait`, every Service Ready, then deleted.
// The runner removes whatever its controller created in Docker.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("converted compose files apply and every Service becomes Ready", "[e2e][convert]") {
  CenvRunner cenv;
  std::string suffix = std::to_string(std::random_device{}() % 1000000);
  struct Stack {
    std::string file;
    std::string ns;
    std::vector<std::string> services;
  };
  const std::vector<Stack> stacks = {
      {"test/data/compose/web-db-cache/docker-compose.yml",
       "e2e-shop-" + suffix,
       {"web", "db", "cache"}},
      {"test/data/compose/dev-source/docker-compose.yml", "e2e-build-" + suffix, {"app", "worker"}},
      {"test/data/compose/long-syntax/compose.yaml",
       "e2e-long-" + suffix,
       {"proxy", "api", "metrics"}},
  };
  // Host ports free now, through the files' ${VAR:-default} (read from the environment first).
  const int web_port = free_port();
  int proxy_port = 0, api_port = 0;
  do proxy_port = free_port();
  while (proxy_port == web_port);
  do api_port = free_port();
  while (api_port == web_port || api_port == proxy_port);
  const std::string ports = "WEB_PORT=" + std::to_string(web_port) +
                            " PROXY_PORT=" + std::to_string(proxy_port) +
                            " API_PORT=" + std::to_string(api_port) + " '" CENV_BINARY "' ";
  std::string apply_args;
  for (const Stack& s : stacks) {
    std::string dir = (cenv.home() / s.ns).string();
    auto converted = cenv.run_command(
        ports + "convert -f " + s.file + " --environment " + s.ns + " -o " + dir, "");
    INFO(s.file << "\n" << converted.out << converted.err);
    REQUIRE(converted.exit_code == 0);
    CHECK(has(converted.out, s.ns + "-environment.yaml"));
    apply_args += " -f " + dir;
  }
  auto applied = cenv.run("apply" + apply_args + " --wait --timeout=240s");
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  for (const Stack& s : stacks) {
    for (const std::string& svc : s.services) {
      auto got = cenv.run("get svc " + svc + " -n " + s.ns + " -o json");
      INFO(s.ns << "/" << svc << ": " << got.out << got.err);
      REQUIRE(got.exit_code == 0);
      std::string ready;
      boost::json::value object = boost::json::parse(got.out);
      for (const auto& c : object.at("status").at("conditions").as_array()) {
        if (c.at("type") == "Ready") ready = std::string(c.at("status").as_string());
      }
      CHECK(ready == "True");
    }
  }
  // The web service answers on the host port the compose file publishes.
  std::string page = shell("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(web_port) +
                           " && printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 "
                           "&& timeout 5 cat <&3'");
  CHECK(has(page, "ok"));
  std::string envs;
  for (const Stack& s : stacks) envs += " " + s.ns;
  auto deleted = cenv.run("delete env" + envs + " --purge --timeout=120s");
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
