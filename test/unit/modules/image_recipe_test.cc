#include "modules/image_recipe.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "modules/options.h"

using cenv::modules::BaseImage;
using cenv::modules::FileTree;
using cenv::modules::ImageRecipe;
using cenv::modules::InstalledModule;
using cenv::modules::manifest_from_inline;
using cenv::modules::manifest_from_tree;
using cenv::modules::Resolution;
using cenv::modules::resolve;
using cenv::modules::resolve_options;

namespace {

const BaseImage kBase{"debian:bookworm-slim", "sha256:" + std::string(64, 'b')};

// A module from its manifest text and files, with its options resolved from `set` (JSON).
InstalledModule module(const std::string& name, const std::string& manifest, FileTree files = {},
                       const char* set = nullptr) {
  files.files["cenv-module.yaml"] = {manifest, false};
  auto m = manifest_from_tree(files, name);
  INFO(manifest << "\n" << m.status().to_string());
  REQUIRE(m.ok());
  InstalledModule installed;
  installed.name = name;
  installed.manifest = std::move(*m);
  installed.revision = cenv::modules::tree_digest(files);
  boost::json::object values;
  if (set) values = boost::json::parse(set).as_object();
  auto env = resolve_options(installed.manifest, &values, "spec.options");
  INFO(env.status().to_string());
  REQUIRE(env.ok());
  installed.option_env = std::move(*env);
  installed.files = std::move(files);
  return installed;
}

InstalledModule simple(const std::string& name, const std::string& script = "echo hi\n") {
  FileTree files;
  files.files["install.sh"] = {script, false};
  return module(name, "name: " + name + "\nversion: 1.0.0\ninstall: install.sh\n", files);
}

ImageRecipe recipe(std::vector<InstalledModule> modules, const BaseImage& base = kBase) {
  auto r = resolve(std::move(modules));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  auto recipe = ImageRecipe::create(base, *r);
  INFO(recipe.status().to_string());
  REQUIRE(recipe.ok());
  return std::move(*recipe);
}

// The Dockerfile text up to the line that starts module `name`'s group.
std::string before_module(const std::string& dockerfile, const std::string& name) {
  size_t pos = dockerfile.find("\n# Module " + name + ":");
  REQUIRE(pos != std::string::npos);
  return dockerfile.substr(0, pos);
}

}  // namespace

TEST_CASE("an environment without modules needs no build", "[modules][image_recipe]") {
  ImageRecipe r = recipe({});
  CHECK(r.empty());
  CHECK(r.dockerfile().empty());
  CHECK(r.context().files.empty());
  CHECK(r.tag_suffix().size() == 12);
  CHECK_FALSE(recipe({simple("jq")}).empty());
}

TEST_CASE("the Dockerfile has one layer group per module in install order",
          "[modules][image_recipe]") {
  FileTree files;
  files.files["install.sh"] = {"#!/bin/sh\nexit 0\n", false};
  files.files["wheels/requests-2.31.0-py3-none-any.whl"] = {"wheel", false};
  InstalledModule py = module("py", R"(
name: py
version: 2.1.0
requires:
  apt: [python3, curl]
  pip: [requests==2.31.0]
options:
  version: {type: string, default: "3.11"}
install: install.sh
env: {PYTHONDONTWRITEBYTECODE: "1"}
)",
                              files, R"({"version":"3.12"})");
  InstalledModule base =
      module("base", "name: base\nversion: 1.0.0\nrequires: {apt: [curl=7.88]}\n");
  py.manifest.requirements.modules.push_back({"base", std::nullopt});
  ImageRecipe r = recipe({py, base});

  const std::string expected =
      "# Runtime image of cenv (recipe format 1), generated: do not edit\n"
      "FROM debian:bookworm-slim\n"
      "\n"
      "# Module base: base@1.0.0\n"
      "RUN [\"/usr/bin/env\", \"DEBIAN_FRONTEND=noninteractive\", \"/bin/sh\", \"-c\", "
      "\"apt-get update && apt-get install -y --no-install-recommends \\\"$@\\\" && rm -rf "
      "/var/lib/apt/lists/*\", \"apt-get\", \"curl=7.88\"]\n"
      "COPY [\"modules/base/\", \"/opt/cenv/modules/base/\"]\n"
      "\n"
      "# Module py: py@2.1.0\n"
      // py's unpinned curl installs base's pin; pip brings python3-pip.
      "RUN [\"/usr/bin/env\", \"DEBIAN_FRONTEND=noninteractive\", \"/bin/sh\", \"-c\", "
      "\"apt-get update && apt-get install -y --no-install-recommends \\\"$@\\\" && rm -rf "
      "/var/lib/apt/lists/*\", \"apt-get\", \"python3\", \"curl=7.88\", \"python3-pip\"]\n"
      "COPY [\"modules/py/\", \"/opt/cenv/modules/py/\"]\n"
      "RUN [\"/usr/bin/env\", \"PIP_BREAK_SYSTEM_PACKAGES=1\", \"PIP_NO_CACHE_DIR=1\", "
      "\"python3\", \"-m\", \"pip\", \"install\", \"--no-index\", \"--find-links\", "
      "\"/opt/cenv/modules/py/wheels\", \"requests==2.31.0\"]\n"
      "RUN [\"/usr/bin/env\", \"CENV_MODULE_DIR=/opt/cenv/modules/py\", \"VERSION=3.12\", "
      "\"/bin/sh\", \"-c\", \"cd \\\"$CENV_MODULE_DIR\\\" && exec \\\"./$0\\\"\", "
      "\"install.sh\"]\n"
      "ENV PYTHONDONTWRITEBYTECODE=\"1\"\n"
      "\n"
      "LABEL io.cenv.base-image-id=\"sha256:" +
      std::string(64, 'b') +
      "\"\n"
      "LABEL io.cenv.modules=\"base@" +
      base.revision + ",py@" + py.revision +
      "\"\n"
      "LABEL org.opencontainers.image.base.name=\"debian:bookworm-slim\"\n";
  CHECK(r.dockerfile() == expected);
  CHECK(r.labels().at("io.cenv.modules") == "base@" + base.revision + ",py@" + py.revision);

  // The context: the Dockerfile and every module's files, the install script executable.
  std::vector<std::string> paths;
  for (const auto& [path, entry] : r.context().files) paths.push_back(path);
  CHECK(paths == std::vector<std::string>{"Dockerfile", "modules/base/cenv-module.yaml",
                                          "modules/py/cenv-module.yaml", "modules/py/install.sh",
                                          "modules/py/wheels/requests-2.31.0-py3-none-any.whl"});
  CHECK(r.context().files.at("Dockerfile").data == r.dockerfile());
  CHECK(r.context().files.at("modules/py/install.sh").executable);
}

TEST_CASE("the recipe is deterministic and its hash follows its inputs",
          "[modules][image_recipe]") {
  auto five = [](const std::string& third_script, const char* option) {
    std::vector<InstalledModule> modules = {simple("m1"), simple("m2"), simple("m4"), simple("m5")};
    FileTree files;
    files.files["install.sh"] = {third_script, false};
    modules.push_back(module("m3",
                             "name: m3\nversion: 1.0.0\ninstall: install.sh\n"
                             "options: {level: {type: integer, default: 1}}\n",
                             files, option));
    return modules;
  };
  ImageRecipe a = recipe(five("echo three\n", nullptr));
  ImageRecipe again = recipe(five("echo three\n", nullptr));
  CHECK(a.dockerfile() == again.dockerfile());
  CHECK(a.content_hash() == again.content_hash());
  CHECK(a.content_hash().size() == 64);
  CHECK(a.tag_suffix() == a.content_hash().substr(0, 12));

  SECTION("a change in module 3 of 5 keeps the layers of modules 1 and 2") {
    ImageRecipe changed = recipe(five("echo THREE\n", nullptr));
    CHECK(before_module(changed.dockerfile(), "m3") == before_module(a.dockerfile(), "m3"));
    CHECK(changed.content_hash() != a.content_hash());
  }
  SECTION("an option value changes the hash but not the layers before the module") {
    ImageRecipe changed = recipe(five("echo three\n", R"({"level":2})"));
    CHECK(before_module(changed.dockerfile(), "m3") == before_module(a.dockerfile(), "m3"));
    CHECK(changed.dockerfile().find("\"LEVEL=2\"") != std::string::npos);
    CHECK(changed.content_hash() != a.content_hash());
  }
  SECTION("another base image ID changes the hash") {
    BaseImage other = kBase;
    other.id = "sha256:" + std::string(64, 'c');
    CHECK(recipe(five("echo three\n", nullptr), other).content_hash() != a.content_hash());
  }
}

TEST_CASE("a change of a module's files keeps its package layer", "[modules][image_recipe]") {
  auto jq = [](const std::string& script) {
    FileTree files;
    files.files["install.sh"] = {script, false};
    return module("jq", "name: jq\nversion: 1.0.0\nrequires: {apt: [jq]}\ninstall: install.sh\n",
                  files);
  };
  std::string before = recipe({jq("jq --version\n")}).dockerfile();
  std::string after = recipe({jq("jq --help\n")}).dockerfile();
  REQUIRE(before != after);
  size_t copy = before.find("COPY [\"modules/jq/\"");
  REQUIRE(copy != std::string::npos);
  CHECK(before.find("\"apt-get\", \"jq\"]") < copy);
  CHECK(after.substr(0, copy) == before.substr(0, copy));
}

TEST_CASE("hostile strings reach the Dockerfile quoted", "[modules][image_recipe]") {
  FileTree files;
  files.files["install.sh"] = {"true\n", false};
  InstalledModule m = module("evil", R"(
name: evil
version: 1.0.0
install: install.sh
options:
  note: {type: string, default: x}
env:
  A: "$(reboot) ${PATH} \"quoted\" back\\slash"
  B: "tab	here"
)",
                             files, R"({"note":"\"]\nRUN rm -rf / #\\"})");
  ImageRecipe r = recipe({m});
  const std::string& d = r.dockerfile();
  // The option value is one JSON string of the exec form: its newline and quotes escaped.
  CHECK(d.find("\"NOTE=\\\"]\\nRUN rm -rf / #\\\\\"") != std::string::npos);
  CHECK(d.find("\nRUN rm -rf") == std::string::npos);
  // ENV values: '$', '"' and '\' escaped, so nothing is substituted.
  CHECK(d.find("ENV A=\"\\$(reboot) \\${PATH} \\\"quoted\\\" back\\\\slash\"\n") !=
        std::string::npos);
  CHECK(d.find("ENV B=\"tab\there\"\n") != std::string::npos);
  // Every instruction line is one of ours.
  size_t start = 0;
  while (start < d.size()) {
    size_t end = d.find('\n', start);
    std::string line = d.substr(start, end - start);
    INFO(line);
    bool known = line.empty() || line.starts_with("#") || line.starts_with("FROM ") ||
                 line.starts_with("COPY [") || line.starts_with("RUN [") ||
                 line.starts_with("ENV ") || line.starts_with("LABEL ");
    CHECK(known);
    start = end + 1;
  }
}

TEST_CASE("an inline install script runs with sh -e from the RUN's arguments",
          "[modules][image_recipe]") {
  auto object = cenv::Object::from_json(R"({"kind":"Module","metadata":{"name":"tools"},
    "spec":{"requires":{"apt":["make"]},"install":"make --version\necho 'ok'"}})");
  REQUIRE(object.ok());
  auto manifest = manifest_from_inline(*object);
  REQUIRE(manifest.ok());
  InstalledModule m;
  m.name = "tools";
  m.manifest = std::move(*manifest);
  m.revision = "sha256:" + std::string(64, 't');
  ImageRecipe r = recipe({m});
  CHECK(r.dockerfile().find("COPY") == std::string::npos);  // no files to copy
  CHECK(r.dockerfile().find("RUN [\"/usr/bin/env\", \"CENV_MODULE_DIR=/opt/cenv/modules/tools\", "
                            "\"/bin/sh\", \"-ec\", \"make --version\\necho 'ok'\"]\n") !=
        std::string::npos);
}

TEST_CASE("a recipe that cannot be built as asked is refused", "[modules][image_recipe]") {
  SECTION("pip requirements without wheels") {
    InstalledModule m = module("py", "name: py\nversion: 1.0.0\nrequires: {pip: [requests]}\n");
    auto r = resolve({m});
    REQUIRE(r.ok());
    auto recipe = ImageRecipe::create(kBase, *r);
    REQUIRE_FALSE(recipe.ok());
    CHECK(recipe.status().message() ==
          "module py: requires.pip is installed from the module's wheels/ folder, which the "
          "module does not have, or from the Environment's spec.pipIndex, which is not set");
  }
  SECTION("a base reference that would change the FROM line") {
    Resolution r;
    r.modules.push_back(simple("jq"));
    BaseImage bad{"debian\nRUN reboot", kBase.id};
    auto recipe = ImageRecipe::create(bad, r);
    REQUIRE_FALSE(recipe.ok());
    CHECK(recipe.status().message() ==
          "base image \"debian\\nRUN reboot\" is not an image reference");
  }
  SECTION("an env value with a line break") {
    InstalledModule m = simple("jq");
    m.manifest.env["X"] = "a\nRUN reboot";
    Resolution r;
    r.modules.push_back(m);
    auto recipe = ImageRecipe::create(kBase, r);
    REQUIRE_FALSE(recipe.ok());
    CHECK(recipe.status().message() ==
          "module jq: env.X: a Dockerfile cannot hold a line break or control character");
  }
}

TEST_CASE("apt-get's refusal of a package names the module and its requires.apt entry",
          "[modules][image_recipe]") {
  auto r = resolve({module("tools", "name: tools\nversion: 1.0.0\nrequires:\n  apt: [jq, jqq]\n"),
                    module("pinned",
                           "name: pinned\nversion: 1.0.0\nrequires:\n"
                           "  apt: [\"curl=9.9-1\"]\n")});
  REQUIRE(r.ok());
  struct Row {
    std::vector<std::string> output;
    std::string expected;  // "" when nothing is explained
  };
  const std::vector<Row> rows = {
      {{"Reading package lists...", "E: Unable to locate package jqq"},
       "Module \"tools\": requires.apt[1]: Debian package \"jqq\" was not found by apt-get "
       "(E: Unable to locate package jqq)"},
      {{"E: Version '9.9-1' for 'curl' was not found\r"},
       "Module \"pinned\": requires.apt[0]: version 9.9-1 of Debian package \"curl\" was not "
       "found by apt-get (E: Version '9.9-1' for 'curl' was not found)"},
      {{"E: Package 'jq' has no installation candidate"},
       "Module \"tools\": requires.apt[0]: Debian package \"jq\" was not found by apt-get "
       "(E: Package 'jq' has no installation candidate)"},
      // A package no module asked for (a dependency of one) and output without a refusal.
      {{"E: Unable to locate package libfoo"}, ""},
      {{"install.sh: line 3: exit 3"}, ""},
  };
  for (const Row& row : rows) {
    INFO(row.output.back());
    auto explained = cenv::modules::explain_apt_failure(*r, row.output);
    if (row.expected.empty()) {
      CHECK_FALSE(explained.has_value());
    } else {
      REQUIRE(explained.has_value());
      CHECK(*explained == row.expected);
    }
  }
}

TEST_CASE("pip requirements come from the module's wheels, else the Environment's index",
          "[modules][image_recipe]") {
  FileTree wheels;
  wheels.files["wheels/requests-2.31.0-py3-none-any.whl"] = {"wheel", false};
  InstalledModule offline =
      module("offline", "name: offline\nversion: 1.0.0\nrequires: {pip: [requests]}\n", wheels);
  InstalledModule online =
      module("online", "name: online\nversion: 1.0.0\nrequires: {pip: [\"attrs>=22\"]}\n");
  auto r = resolve({offline, online});
  REQUIRE(r.ok());
  auto recipe = ImageRecipe::create(kBase, *r, {.pip_index_url = "http://pypi.internal/simple"});
  INFO(recipe.status().to_string());
  REQUIRE(recipe.ok());
  const std::string& df = recipe->dockerfile();
  INFO(df);
  CHECK(df.find(R"("install", "--no-index", "--find-links", "/opt/cenv/modules/offline/wheels", )"
                R"("requests"])") != std::string::npos);
  CHECK(df.find(R"("install", "--index-url", "http://pypi.internal/simple", "attrs>=22"])") !=
        std::string::npos);
  // The index is an input of the image: another index, another tag.
  auto other = ImageRecipe::create(kBase, *r, {.pip_index_url = "http://mirror.internal/simple"});
  REQUIRE(other.ok());
  CHECK(other->tag_suffix() != recipe->tag_suffix());
}
