#include "modules/manifest.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/kinds.h"
#include "api/version.h"

using cenv::modules::cenv_version;
using cenv::modules::FileTree;
using cenv::modules::InstallStep;
using cenv::modules::manifest_from_inline;
using cenv::modules::manifest_from_tree;
using cenv::modules::ModuleManifest;
using cenv::modules::OptionType;
using cenv::modules::parse_module_manifest;

namespace {

constexpr const char* kFile = "modules/jq/cenv-module.yaml";

const char* kFullManifest = R"(
name: jq
version: 1.6.0-rc.1+build.7
description: JSON on the command line
compatibility: ">=0.1.0 <1000"
requires:
  apt: [jq, curl=7.88.1-10+deb12u5]
  pip: [requests==2.31.0, "uvicorn[standard]>=0.20,<1", Typing_Extensions]
  modules:
    - base
    - {name: python, version: ^3.1}
installsAfter: [locale]
options:
  flavour: {type: enum, enum: [small, full], default: small, description: How much}
  install-dir: {type: string, default: /opt/jq}
  verbose: {type: boolean, default: false}
  jobs: {type: integer, default: 4}
install: scripts/install.sh
env:
  JQ_COLORS: "1;30:0;39"
commands:
  pretty: {command: [jq, .], args: [--tab], description: Pretty-print JSON}
services:
  web:
    command: [python3, -m, http.server]
    ports: [{containerPort: 8000}]
)";

ModuleManifest parse_ok(const std::string& text) {
  auto m = parse_module_manifest(text, kFile);
  INFO(m.status().to_string());
  REQUIRE(m.ok());
  return *m;
}

}  // namespace

TEST_CASE("a full manifest reads into typed fields", "[modules][manifest]") {
  ModuleManifest m = parse_ok(kFullManifest);
  CHECK(m.name == "jq");
  CHECK(m.version.text() == "1.6.0-rc.1+build.7");
  CHECK(m.description == "JSON on the command line");
  REQUIRE(m.compatibility);
  CHECK(m.compatibility->text() == ">=0.1.0 <1000");

  REQUIRE(m.requirements.apt.size() == 2);
  CHECK(m.requirements.apt[0].package == "jq");
  CHECK(m.requirements.apt[0].version.empty());
  CHECK(m.requirements.apt[1].package == "curl");
  CHECK(m.requirements.apt[1].version == "7.88.1-10+deb12u5");
  CHECK(m.requirements.apt[1].text() == "curl=7.88.1-10+deb12u5");

  REQUIRE(m.requirements.pip.size() == 3);
  CHECK(m.requirements.pip[0].name == "requests");
  CHECK(m.requirements.pip[0].pin == "2.31.0");
  CHECK(m.requirements.pip[1].name == "uvicorn");
  CHECK(m.requirements.pip[1].pin.empty());
  CHECK(m.requirements.pip[2].name == "typing-extensions");
  CHECK(m.requirements.pip[2].text == "Typing_Extensions");

  REQUIRE(m.requirements.modules.size() == 2);
  CHECK(m.requirements.modules[0].name == "base");
  CHECK_FALSE(m.requirements.modules[0].range);
  CHECK(m.requirements.modules[0].range_text() == "*");
  CHECK(m.requirements.modules[1].name == "python");
  CHECK(m.requirements.modules[1].range_text() == "^3.1");

  CHECK(m.installs_after == std::vector<std::string>{"locale"});
  REQUIRE(m.options.size() == 4);
  CHECK(m.options.at("flavour").type == OptionType::kEnum);
  CHECK(m.options.at("flavour").values == std::vector<std::string>{"small", "full"});
  CHECK(m.options.at("flavour").default_value == "small");
  CHECK(m.options.at("flavour").description == "How much");
  CHECK(m.options.at("install-dir").default_value == "/opt/jq");
  CHECK(m.options.at("verbose").default_value == "false");
  CHECK(m.options.at("jobs").default_value == "4");

  CHECK(m.install.kind == InstallStep::Kind::kScriptFile);
  CHECK(m.install.text == "scripts/install.sh");
  CHECK(m.env == std::map<std::string, std::string>{{"JQ_COLORS", "1;30:0;39"}});
  REQUIRE(m.commands.count("pretty") == 1);
  CHECK(m.commands.at("pretty").command == std::vector<std::string>{"jq", "."});
  CHECK(m.commands.at("pretty").args == std::vector<std::string>{"--tab"});
  CHECK(m.commands.at("pretty").description == "Pretty-print JSON");
  REQUIRE(m.services.count("web") == 1);
  // Service specs get the Service schema's defaults.
  CHECK(m.services.at("web").at("restartPolicy") == "Always");
}

TEST_CASE("a minimal manifest needs only name and version", "[modules][manifest]") {
  ModuleManifest m = parse_ok("name: tiny\nversion: 0.0.1\n");
  CHECK(m.name == "tiny");
  CHECK_FALSE(m.compatibility);
  CHECK(m.install.kind == InstallStep::Kind::kNone);
  CHECK(m.requirements.apt.empty());
  CHECK(m.options.empty());
}

TEST_CASE("a compatibility range that holds this cenv is accepted", "[modules][manifest]") {
  std::string text = "name: a\nversion: 1.0.0\ncompatibility: \"=" + cenv_version().text() + "\"\n";
  parse_ok(text);
  std::string own = cenv::api::version_string();
  CHECK(own.rfind(cenv_version().text(), 0) == 0);
}

TEST_CASE("bad manifests are refused naming the file and the field", "[modules][manifest]") {
  struct Row {
    const char* name;
    std::string yaml;
    std::string error;  // the whole line after "<file>: "
  };
  const std::string head = "name: jq\nversion: 1.0.0\n";
  const Row rows[] = {
      {"unknown field", head + "colour: blue\n", "colour: unknown field"},
      {"unknown nested field", head + "requires: {apt: [jq], npm: [x]}\n",
       "requires.npm: unknown field"},
      {"apiVersion is not a manifest field", "apiVersion: cenv.io/v1\n" + head,
       "apiVersion: unknown field"},
      {"missing version", "name: jq\n", "version: Required value"},
      {"bad name", "name: JQ\nversion: 1.0.0\n",
       "name: Invalid value: \"JQ\": must be lowercase letters, digits and '-', starting and "
       "ending with a letter or digit"},
      {"bad semver", "name: jq\nversion: \"1.0\"\n",
       "version: \"1.0\" is not a semantic version: expected MAJOR.MINOR.PATCH"},
      {"version of the wrong type", "name: jq\nversion: 1.5\n",
       "version: Invalid value: \"number\": expected string"},
      {"bad range", head + "requires: {modules: [{name: py, version: \">=\"}]}\n",
       "requires.modules[0].version: \">=\" is not a version range: \">=\" is not followed by a "
       "version"},
      {"bad compatibility range", head + "compatibility: ^x.1\n",
       "compatibility: \"^x.1\" is not a version range: \"x.1\" is not a version: a number may "
       "not follow a wildcard"},
      {"incompatible cenv version", head + "compatibility: \">=1000.0\"\n",
       "compatibility: this module needs cenv \">=1000.0\", but this is cenv " +
           cenv_version().text()},
      {"bad apt name", head + "requires: {apt: [jq, Curl]}\n",
       "requires.apt[1]: Invalid value: \"Curl\": must be a Debian package name, optionally "
       "with =version"},
      {"bad apt pin", head + "requires: {apt: [\"curl=\"]}\n",
       "requires.apt[0]: Invalid value: \"curl=\": must be a Debian package name, optionally "
       "with =version"},
      {"bad pip requirement", head + "requires: {pip: [\"requests; rm -rf /\"]}\n",
       "requires.pip[0]: Invalid value: \"requests; rm -rf /\": must be a Python requirement "
       "such as name, name[extra] or name>=1.0,<2"},
      {"option default of the wrong type",
       head + "options: {verbose: {type: boolean, default: "
              "\"yes\"}}\n",
       "options.verbose.default: the option is of type boolean: must be a boolean (true or "
       "false), not \"yes\""},
      {"integer option with a string default",
       head + "options: {jobs: {type: integer, default: many}}\n",
       "options.jobs.default: the option is of type integer: must be an integer, not \"many\""},
      {"string option with a number default",
       head + "options: {version: {type: string, default: 3.12}}\n",
       "options.version.default: the option is of type string: must be a string (quote it: "
       "\"...\"), not 3.12"},
      {"enum default outside the enum",
       head + "options: {flavour: {type: enum, enum: [a, b], default: c}}\n",
       "options.flavour.default: the option is of type enum: must be one of \"a\", \"b\", not "
       "\"c\""},
      {"enum without values", head + "options: {flavour: {type: enum, default: a}}\n",
       "options.flavour.enum: Required value: an option of type enum lists its values"},
      {"values on a string option",
       head + "options: {flavour: {type: string, enum: [a], default: a}}\n",
       "options.flavour.enum: Forbidden: only an option of type enum lists values"},
      {"unknown option type", head + "options: {x: {type: float, default: 1}}\n",
       "options.x.type: Unsupported value: \"float\": supported values: \"string\", \"boolean\", "
       "\"integer\", \"enum\""},
      {"option without default", head + "options: {x: {type: string}}\n",
       "options.x.default: Required value"},
      {"option on a reserved variable", head + "options: {path: {type: string, default: /}}\n",
       "options.path: Invalid value: \"path\": its variable PATH is reserved (PATH, HOME, PWD "
       "and CENV_*)"},
      {"two options on one variable",
       head + "options: {a-b: {type: string, default: x}, a_b: {type: string, default: y}}\n",
       "options.a_b: Invalid value: \"a_b\": option \"a-b\" sets the same variable A_B"},
      {"option name not a name", head + "options: {9lives: {type: string, default: x}}\n",
       "options[9lives]: Invalid value: \"9lives\": must be letters, digits, '_' and '-', "
       "starting with a letter"},
      {"install escaping the module", head + "install: ../install.sh\n",
       "install: Invalid value: \"../install.sh\": must be a relative path of a file of the "
       "module (letters, digits, '.', '_', '+', '-' and '/'; no part starting with '.')"},
      {"absolute install path", head + "install: /bin/sh\n",
       "install: Invalid value: \"/bin/sh\": must be a relative path of a file of the module "
       "(letters, digits, '.', '_', '+', '-' and '/'; no part starting with '.')"},
      {"env value on two lines", head + "env: {A: \"x\\ny\"}\n",
       "env.A: Invalid value: \"x\\ny\": must be one line without control characters"},
      {"env name not an identifier", head + "env: {A-B: x}\n",
       "env[A-B]: Invalid value: \"A-B\": must be a C identifier (letters, digits and '_', not "
       "starting with a digit)"},
      {"command without argv", head + "commands: {run: {description: x}}\n",
       "commands.run.command: Required value"},
      {"service spec checked against the Service schema",
       head + "services: {db: {ports: [{containerPort: 99999}]}}\n",
       "services.db.ports[0].containerPort: must be between 1 and 65535"},
      {"self dependency", head + "requires: {modules: [jq]}\n",
       "requires.modules[0].name: a module cannot require itself"},
      {"duplicate dependency", head + "requires: {modules: [a, {name: a, version: ^1}]}\n",
       "requires.modules[1]: Duplicate value: \"a\""},
      {"dependency neither name nor object", head + "requires: {modules: [7]}\n",
       "requires.modules[0]: Invalid value: \"integer\": expected object"},
      {"installsAfter itself", head + "installsAfter: [jq]\n",
       "installsAfter[0]: a module cannot install after itself"},
  };
  for (const Row& row : rows) {
    INFO(row.name << "\n" << row.yaml);
    auto m = parse_module_manifest(row.yaml, kFile);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == cenv::Code::kInvalid);
    CHECK(m.status().message() == std::string(kFile) + ": " + row.error);
  }
}

TEST_CASE("every problem of a manifest is reported on a line of its own", "[modules][manifest]") {
  auto m =
      parse_module_manifest("name: jq\nversion: 1.0.0\ncolour: x\nrequires: {apt: [A]}\n", kFile);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message() ==
        std::string(kFile) + ": colour: unknown field\n" + kFile +
            ": requires.apt[0]: Invalid value: \"A\": must be a Debian package name, optionally "
            "with =version");
}

TEST_CASE("a manifest that is not one YAML mapping is refused", "[modules][manifest]") {
  struct Row {
    const char* yaml;
    const char* error;
  };
  const Row rows[] = {
      {"", "modules/jq/cenv-module.yaml: the manifest is empty"},
      {"- a\n- b\n", "modules/jq/cenv-module.yaml: must be a YAML mapping"},
      {"name: a\nversion: 1.0.0\n---\nname: b\n",
       "modules/jq/cenv-module.yaml: holds 2 YAML documents; a manifest is one"},
      {"name: [a\n", "modules/jq/cenv-module.yaml: line"},
  };
  for (const Row& row : rows) {
    INFO(row.yaml);
    auto m = parse_module_manifest(row.yaml, kFile);
    REQUIRE_FALSE(m.ok());
    CHECK_THAT(m.status().message(), Catch::StartsWith(row.error));
  }
}

TEST_CASE("a manifest over 256 KiB is refused", "[modules][manifest]") {
  std::string text =
      "name: jq\nversion: 1.0.0\ndescription: \"" + std::string(size_t{300} * 1024, 'x') + "\"\n";
  auto m = parse_module_manifest(text, kFile);
  REQUIRE_FALSE(m.ok());
  CHECK_THAT(m.status().message(), Catch::StartsWith(kFile));
}

TEST_CASE("manifest_from_tree reads cenv-module.yaml and checks the install file",
          "[modules][manifest]") {
  FileTree tree;
  tree.files["cenv-module.yaml"] = {"name: jq\nversion: 1.0.0\ninstall: install.sh\n", false};
  SECTION("the install script is a file of the module") {
    tree.files["install.sh"] = {"#!/bin/sh\n", true};
    auto m = manifest_from_tree(tree, "modules/jq");
    REQUIRE(m.ok());
    CHECK(m->install.text == "install.sh");
  }
  SECTION("a missing install script names the field") {
    auto m = manifest_from_tree(tree, "modules/jq");
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message() ==
          "modules/jq/cenv-module.yaml: install: Invalid value: \"install.sh\": no such file in "
          "the module");
  }
  SECTION("no manifest is NotFound") {
    auto m = manifest_from_tree(FileTree{}, "modules/jq");
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == cenv::Code::kNotFound);
    CHECK(m.status().message() == "modules/jq/cenv-module.yaml: no such file");
  }
}

TEST_CASE("an inline Module gives the same manifest struct", "[modules][manifest]") {
  auto object = cenv::Object::from_json(R"({"apiVersion":"cenv.io/v1","kind":"Module",
    "metadata":{"name":"py","namespace":"dev"},
    "spec":{"requires":{"apt":["python3","git=1:2.39"],"pip":["numpy==1.26.4"],"modules":["base"]},
      "install":"pip install -e .\necho done",
      "commands":{"test":{"command":["pytest"],"args":["-q"],"description":"Run tests"}},
      "services":{"web":{"command":["python3","-m","http.server"]}}}})");
  REQUIRE(object.ok());
  auto m = manifest_from_inline(*object);
  INFO(m.status().to_string());
  REQUIRE(m.ok());
  CHECK(m->name == "py");
  CHECK(m->version.text() == "0.0.0");
  REQUIRE(m->requirements.apt.size() == 2);
  CHECK(m->requirements.apt[1].package == "git");
  CHECK(m->requirements.apt[1].version == "1:2.39");
  REQUIRE(m->requirements.pip.size() == 1);
  CHECK(m->requirements.pip[0].pin == "1.26.4");
  REQUIRE(m->requirements.modules.size() == 1);
  CHECK(m->requirements.modules[0].name == "base");
  CHECK_FALSE(m->requirements.modules[0].range);
  CHECK(m->install.kind == InstallStep::Kind::kInlineScript);
  CHECK(m->install.text == "pip install -e .\necho done");
  CHECK(m->commands.at("test").args == std::vector<std::string>{"-q"});
  CHECK(m->services.count("web") == 1);
}

TEST_CASE("manifest_from_inline refuses a sourced or malformed Module", "[modules][manifest]") {
  auto sourced = cenv::Object::from_json(
      R"({"kind":"Module","metadata":{"name":"py"},"spec":{"source":{"path":"m"}}})");
  REQUIRE(sourced.ok());
  auto m = manifest_from_inline(*sourced);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message() == "Module \"py\" has a source: its manifest is cenv-module.yaml");

  auto bad = cenv::Object::from_json(
      R"({"kind":"Module","metadata":{"name":"py"},"spec":{"requires":{"apt":["ok","a b"]}}})");
  REQUIRE(bad.ok());
  m = manifest_from_inline(*bad);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message() ==
        "Module \"py\": spec.requires.apt[1]: Invalid value: \"a b\": must be a Debian package "
        "name, optionally with =version");
}

TEST_CASE("the manifest schema is no kind of the API", "[modules][manifest]") {
  auto kinds = cenv::KindRegistry::builtin();
  REQUIRE(kinds.ok());
  CHECK((*kinds)->find("ModuleManifest") == nullptr);
  std::vector<std::string> names;
  for (const cenv::KindInfo& k : (*kinds)->kinds()) names.push_back(k.kind);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"ClusterRoleBinding", "CommandRun", "Environment",
                                          "Event", "Module", "RoleBinding", "Service"});
}
