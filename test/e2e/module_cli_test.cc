// `cenv module add|list|show|tree`, `cenv env build|image` and `cenv run MODULE:COMMAND` end to
// end, as a user runs them.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// An Environment `name` (baseImage `base`) applied through the CLI.
void environment(const CenvRunner& cenv, const std::string& name,
                 const std::string& base = "cenv/base:bookworm") {
  auto r = cenv.run("apply -f -", "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " +
                                      name + "\nspec:\n  baseImage: " + base + "\n");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

json::object get_json(const CenvRunner& cenv, const std::string& args) {
  auto r = cenv.run("get " + args + " -o json");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).as_object();
}

TEST_CASE("module add packs a local folder and a second add changes nothing", "[e2e][module]") {
  CenvRunner cenv;
  environment(cenv, "tools");
  fs::path folder = cenv.home() / "my-greeter";
  fs::create_directories(folder);
  std::ofstream(folder / "cenv-module.yaml") << "name: greeter\nversion: 0.1.0\n";
  std::ofstream(folder / "hello.txt") << "hello\n";

  std::string add = "module add '" + folder.string() + "' -n tools --set greeting=Hi " +
                    "--set shout=true --set times=3";
  auto first = cenv.run(add);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == "module/greeter created\n");

  json::object m = get_json(cenv, "module greeter -n tools");
  const json::object& source = m.at("spec").at("source").as_object();
  CHECK(source.at("path") == "my-greeter");
  std::string digest(source.at("digest").as_string());
  CHECK(digest.starts_with("sha256:"));
  CHECK(digest.size() == 71);
  const json::object& options = m.at("spec").at("options").as_object();
  CHECK(options.at("greeting") == "Hi");
  CHECK(options.at("shout") == true);
  CHECK(options.at("times") == 3);

  auto again = cenv.run(add);
  CHECK(again.exit_code == 0);
  CHECK(again.out == "module/greeter unchanged\n");

  // A changed file is a new digest.
  std::ofstream(folder / "hello.txt") << "hello again\n";
  auto changed = cenv.run(add);
  CHECK(changed.out == "module/greeter configured\n");
  json::object after = get_json(cenv, "module greeter -n tools");
  CHECK(after.at("spec").at("source").at("digest") != json::value(digest));

  auto list = cenv.run("module list -n tools");
  INFO(list.out << list.err);
  CHECK(list.exit_code == 0);
  CHECK(has(list.out, "NAME      VERSION   REVISION"));
  CHECK(has(list.out, "greeter"));
  auto show = cenv.run("module show greeter -n tools");
  CHECK(show.exit_code == 0);
  CHECK(has(show.out, "Source:       path my-greeter (uploaded, "));
  CHECK(has(show.out, "Options:      greeting=Hi, shout=true, times=3"));
  auto tree = cenv.run("module tree -n tools");
  CHECK(tree.exit_code == 0);
  CHECK(has(tree.out, "greeter@"));
}

TEST_CASE("module add names a Git module after its URL and refuses a folder that is not there",
          "[e2e][module]") {
  CenvRunner cenv;
  environment(cenv, "tools");
  auto git = cenv.run("module add file:///srv/git/jq-tools.git#v1.0.0 -n tools");
  INFO(git.out << git.err);
  REQUIRE(git.exit_code == 0);
  CHECK(git.out == "module/jq-tools created\n");
  json::object m = get_json(cenv, "module jq-tools -n tools");
  CHECK(m.at("spec").at("source").at("git").at("url") == "file:///srv/git/jq-tools.git");
  CHECK(m.at("spec").at("source").at("git").at("ref") == "v1.0.0");

  auto missing = cenv.run("module add ./no-such-module -n tools");
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "SOURCE \"./no-such-module\": no such folder"));
  auto bad_set = cenv.run("module add manifests/examples/modules/jq -n tools --set oops");
  CHECK(bad_set.exit_code == 1);
  CHECK(has(bad_set.err, "--set \"oops\": use KEY=VALUE"));
}

TEST_CASE("env build records the request on the Environment", "[e2e][env]") {
  CenvRunner cenv;
  environment(cenv, "builds");
  auto before = get_json(cenv, "env builds");
  auto r = cenv.run("env build builds");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "environment/builds build requested\n");
  auto after = get_json(cenv, "env builds");
  std::string at(
      after.at("metadata").at("annotations").at("cenv.io/build-requested-at").as_string());
  CHECK(at.size() == 20);  // 2026-01-02T03:04:05Z
  CHECK(at.back() == 'Z');
  // Only the annotation changed: the spec (and so the generation) is the same.
  CHECK(after.at("spec") == before.at("spec"));
  CHECK(after.at("metadata").at("generation") == before.at("metadata").at("generation"));

  auto missing = cenv.run("env build nowhere");
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "not found"));
}

TEST_CASE("env image fails clearly while an Environment has no image", "[e2e][env]") {
  CenvRunner cenv;
  environment(cenv, "imageless", "cenv/no-such-base:never");
  auto r = cenv.run("env image imageless");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(has(r.err, "error: environment \"imageless\" has no runtime image yet (phase "));
  auto table = cenv.run("get env imageless");
  CHECK(has(table.out, "MODULES"));
}

TEST_CASE("run MODULE:COMMAND is refused at once when the module does not exist",
          "[e2e][module][run]") {
  CenvRunner cenv;
  environment(cenv, "tools");
  auto r = cenv.run("run -n tools nope:build -- --fast");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "error: module \"nope\" not found in environment \"tools\" (modules: none; add one with "
        "cenv module add)\n");
  auto runs = cenv.run("get cr -n tools");
  CHECK(has(runs.err, "No resources found"));
  auto misplaced = cenv.run("run -n tools nope:build fast");
  CHECK(misplaced.exit_code == 1);
  CHECK(has(misplaced.err, "the arguments of nope:build go after --"));
}

}  // namespace
}  // namespace cenv::e2e
