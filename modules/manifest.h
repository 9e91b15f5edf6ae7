#pragma once
// The module manifest, cenv-module.yaml (DESIGN section 2; schema in
// crds/schemas/cenv-module.yaml), read into typed fields; and the same fields of a Module
// written inline (spec.requires, spec.install, spec.commands, spec.services).
//
//   name: jq                      # DNS-1123 label
//   version: 1.6.0                # semantic version
//   compatibility: ">=0.1 <2"     # cenv versions it works with (optional)
//   requires:
//     apt: [jq, curl=7.88.1-10+deb12u5]
//     pip: [requests==2.31.0]     # offline, from the module's wheels/ folder
//     modules: [base, {name: python, version: ^3.1}]
//   installsAfter: [locale]       # soft order, only among installed modules
//   options:
//     flavour: {type: enum, enum: [small, full], default: small, description: ...}
//   install: install.sh           # a file of the module, run at image build
//   env: {JQ_COLORS: "1;30"}
//   commands:
//     pretty: {command: [jq, .], args: [], description: Pretty-print JSON from stdin}
//   services:
//     web: {command: [python3, -m, http.server], ports: [{containerPort: 8000}]}

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/limits.h"
#include "api/object.h"
#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/options.h"
#include "modules/semver.h"

namespace cenv::modules {

// The manifest's file name at the root of a module's source.
inline constexpr std::string_view kManifestFile = "cenv-module.yaml";

// One Debian package: "curl" or "curl=7.88.1-10".
struct AptRequirement {
  std::string package;
  std::string version;  // "" when not pinned
  std::string text() const { return version.empty() ? package : package + "=" + version; }
};

// One Python requirement as written ("requests>=2,<3", "numpy==1.26.4").
struct PipRequirement {
  std::string text;
  std::string name;  // normalized as PEP 503 does: lower case, runs of -_. as '-'
  std::string pin;   // the version of a ==/=== pin (not a == wildcard); "" when not pinned
};

// One hard dependency on another module of the same Environment.
struct ModuleDependency {
  std::string name;
  std::optional<VersionRange> range;  // nullopt: any version
  // "^1.2" or "*": the range as written, for messages.
  std::string range_text() const { return range ? range->text() : "*"; }
};

struct Requirements {
  std::vector<AptRequirement> apt;
  std::vector<PipRequirement> pip;
  std::vector<ModuleDependency> modules;
};

// What runs at image build after the packages.
struct InstallStep {
  enum class Kind {
    kNone,          // nothing to run
    kScriptFile,    // `text` is the path of a script in the module's files (a manifest)
    kInlineScript,  // `text` is a shell script, run with /bin/sh -e (an inline Module)
  };
  Kind kind = Kind::kNone;
  std::string text;
};

// A named command of the module (for CommandRun module + moduleCommand).
struct ModuleCommand {
  std::vector<std::string> command;  // argument array, never run through a shell
  std::vector<std::string> args;     // default arguments, replaced by the run's own
  std::string description;
};

struct ModuleManifest {
  std::string name;
  Version version;
  std::string description;
  std::optional<VersionRange> compatibility;  // nullopt: any cenv
  Requirements requirements;                  // the manifest's `requires`
  std::vector<std::string> installs_after;
  std::map<std::string, OptionSpec, std::less<>> options;
  InstallStep install;
  std::map<std::string, std::string> env;
  std::map<std::string, ModuleCommand> commands;
  std::map<std::string, boost::json::object> services;  // name -> Service spec (validated)
};

// The version of this cenv (the semantic-version part of api::version_string()), which
// manifests' `compatibility` is checked against.
Version cenv_version();

// Parses and validates the text of a manifest; `file` names it in messages (e.g.
// "modules/jq/cenv-module.yaml"). Invalid with one line per problem, each "<file>: <field>:
// <what is wrong>" (e.g. "modules/jq/cenv-module.yaml: requires.apt[0]: Invalid value:
// \"Curl\": must be a Debian package name, optionally with =version"): YAML errors, more than
// one document, more than kMaxModuleManifestBytes, unknown fields, schema violations, a bad version
// or range, option defaults of the wrong type, and a `compatibility` that excludes
// cenv_version() (naming both). Does not check that `install` names a file (see below).
Result<ModuleManifest> parse_module_manifest(std::string_view text, std::string_view file);

// Reads kManifestFile from the root of a module's files and parses it, then checks that
// `install` names a file of `files`. `source` names the module's folder in messages
// ("modules/jq"; empty: the file alone). NotFound "<source>/cenv-module.yaml: no such file"
// when it is missing; otherwise as parse_module_manifest.
Result<ModuleManifest> manifest_from_tree(const FileTree& files, std::string_view source);

// The manifest of a Module written inline (no spec.source): name = the object's name, version
// 0.0.0, requires from spec.requires (its modules are names, any version), install from
// spec.install (a shell script), commands and services from spec. Invalid naming
// "Module \"<name>\": spec.<field>" when a field is malformed (the API validates Modules, so
// this is a second line of defence) or when the Module has a source.
Result<ModuleManifest> manifest_from_inline(const Object& module);

}  // namespace cenv::modules
