#include "modules/resolver.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using cenv::modules::InstalledModule;
using cenv::modules::parse_module_manifest;
using cenv::modules::render_tree;
using cenv::modules::Resolution;
using cenv::modules::resolve;

namespace {

// A module named `name` at `version` whose manifest adds `body` (YAML lines).
InstalledModule module(const std::string& name, const std::string& version = "1.0.0",
                       const std::string& body = "") {
  std::string text = "name: " + name + "\nversion: " + version + "\n" + body;
  auto m = parse_module_manifest(text, name + "/cenv-module.yaml");
  INFO(text << "\n" << m.status().to_string());
  REQUIRE(m.ok());
  InstalledModule installed;
  installed.name = name;
  installed.manifest = std::move(*m);
  installed.revision = "sha256:" + std::string(64, name[0]);
  return installed;
}

std::vector<std::string> order_of(const Resolution& r) {
  std::vector<std::string> names;
  for (const InstalledModule& m : r.modules) names.push_back(m.name);
  return names;
}

std::vector<std::string> resolved(std::vector<InstalledModule> modules) {
  auto r = resolve(std::move(modules));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return order_of(*r);
}

std::string refused(std::vector<InstalledModule> modules) {
  auto r = resolve(std::move(modules));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == cenv::Code::kInvalid);
  return r.status().message();
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("independent modules install in name order", "[modules][resolver]") {
  CHECK(resolved({module("zsh"), module("jq"), module("make")}) == Names{"jq", "make", "zsh"});
  CHECK(resolved({}).empty());
}

TEST_CASE("dependencies install first and transitively", "[modules][resolver]") {
  // web -> python -> base; an unrelated module sorts by name among those ready.
  auto names = resolved({module("aaa", "1.0.0", "requires: {modules: [web]}\n"),
                         module("web", "1.0.0", "requires: {modules: [python]}\n"),
                         module("python", "3.1.0", "requires: {modules: [base]}\n"), module("base"),
                         module("jq")});
  CHECK(names == Names{"base", "jq", "python", "web", "aaa"});
}

TEST_CASE("installsAfter orders modules that are installed and ignores others",
          "[modules][resolver]") {
  CHECK(resolved({module("alpha", "1.0.0", "installsAfter: [zulu, missing]\n"), module("zulu")}) ==
        Names{"zulu", "alpha"});
  // Dependencies come before the soft order: b requires a even though a installsAfter c.
  CHECK(resolved({module("a", "1.0.0", "installsAfter: [c]\n"),
                  module("b", "1.0.0", "requires: {modules: [a]}\n"), module("c")}) ==
        Names{"c", "a", "b"});
}

TEST_CASE("a cycle of installsAfter is broken by name and not refused", "[modules][resolver]") {
  auto order = resolved(
      {module("b", "1.0.0", "installsAfter: [a]\n"), module("a", "1.0.0", "installsAfter: [b]\n")});
  CHECK(order == Names{"a", "b"});
  // The same whatever order the modules come in.
  CHECK(resolved({module("a", "1.0.0", "installsAfter: [b]\n"),
                  module("b", "1.0.0", "installsAfter: [a]\n")}) == order);
  // A soft edge against a hard one: the dependency wins.
  CHECK(resolved({module("a", "1.0.0", "installsAfter: [b]\n"),
                  module("b", "1.0.0", "requires: {modules: [a]}\n")}) == Names{"a", "b"});
}

TEST_CASE("a dependency cycle is refused naming the chain", "[modules][resolver]") {
  CHECK(refused({module("a", "1.0.0", "requires: {modules: [b]}\n"),
                 module("b", "1.0.0", "requires: {modules: [c]}\n"),
                 module("c", "1.0.0", "requires: {modules: [a]}\n"), module("d")}) ==
        "dependency cycle: a -> b -> c -> a");
  CHECK(refused({module("x", "1.0.0", "requires: {modules: [y]}\n"),
                 module("y", "1.0.0", "requires: {modules: [z]}\n"),
                 module("z", "1.0.0", "requires: {modules: [y]}\n")}) ==
        "dependency cycle: y -> z -> y");
}

TEST_CASE("a missing dependency is refused naming both modules and the range",
          "[modules][resolver]") {
  CHECK(refused({module("a", "1.0.0", "requires: {modules: [{name: b, version: ^1.0}]}\n")}) ==
        "module a requires b (^1.0), which is not installed in this environment");
  CHECK(refused({module("a", "1.0.0", "requires: {modules: [b]}\n")}) ==
        "module a requires b (*), which is not installed in this environment");
}

TEST_CASE("a dependency outside its range is refused with both versions", "[modules][resolver]") {
  CHECK(refused({module("a", "1.0.0", "requires: {modules: [{name: b, version: ^2.0}]}\n"),
                 module("b", "1.3.0")}) == "module a requires b ^2.0, but b is 1.3.0");
  CHECK(resolved({module("a", "1.0.0", "requires: {modules: [{name: b, version: ^1.2}]}\n"),
                  module("b", "1.3.0")}) == Names{"b", "a"});
}

TEST_CASE("two Modules of one module are refused", "[modules][resolver]") {
  InstalledModule second = module("jq");
  second.name = "jq2";
  CHECK(refused({module("jq"), second}) == "Modules jq and jq2 both install module jq");
}

TEST_CASE("different pins of one apt or pip package are a conflict", "[modules][resolver]") {
  CHECK(refused({module("a", "1.0.0", "requires: {apt: [curl=7.88]}\n"),
                 module("b", "1.0.0", "requires: {apt: [curl=7.74]}\n")}) ==
        "apt package curl is pinned twice: curl=7.88 by module a, curl=7.74 by module b");
  CHECK(refused({module("a", "1.0.0", "requires: {pip: [requests==2.31]}\n"),
                 module("b", "1.0.0", "requires: {pip: [Requests==2.28]}\n")}) ==
        "pip package requests is pinned twice: requests==2.31 by module a, Requests==2.28 by "
        "module b");
  // Equal pins, PEP 440-equal pins and unpinned mentions are no conflict.
  auto r = resolve({module("a", "1.0.0", "requires: {apt: [curl=7.88, jq], pip: [x==2.31]}\n"),
                    module("b", "1.0.0", "requires: {apt: [curl=7.88], pip: [x==2.31.0]}\n"),
                    module("c", "1.0.0", "requires: {apt: [curl], pip: [x]}\n")});
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->apt_pins == std::map<std::string, std::string>{{"curl", "7.88"}});
}

TEST_CASE("render_tree prints the graph as npm ls does", "[modules][resolver]") {
  auto r = resolve({module("web", "2.0.0", "requires: {modules: [python, tools]}\n"),
                    module("python", "3.1.0", "requires: {modules: [base]}\n"),
                    module("tools", "0.4.0", "requires: {modules: [base]}\n"),
                    module("base", "1.0.0"), module("jq", "1.6.0")});
  REQUIRE(r.ok());
  r->modules[3].revision = "0123456789abcdef0123";  // a commit
  CHECK(render_tree(*r) ==
        "jq@1.6.0 (jjjjjjjjjjjj)\n"
        "web@2.0.0 (wwwwwwwwwwww)\n"
        "├── python@3.1.0 (pppppppppppp)\n"
        "│   └── base@1.0.0 (bbbbbbbbbbbb)\n"
        "└── tools@0.4.0 (0123456789ab)\n"
        "    └── base@1.0.0 (bbbbbbbbbbbb) deduped\n");
  CHECK(order_of(*r) == Names{"base", "jq", "python", "tools", "web"});
}

TEST_CASE("render_tree names a Module whose name differs from its manifest's",
          "[modules][resolver]") {
  InstalledModule m = module("jq", "1.6.0");
  m.name = "tools";
  m.revision.clear();
  auto r = resolve({m});
  REQUIRE(r.ok());
  CHECK(render_tree(*r) == "jq@1.6.0 [Module tools]\n");
}
