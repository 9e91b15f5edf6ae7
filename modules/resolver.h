#pragma once
// Resolution of the Modules installed in one Environment into the order their layers are
// built in: hard dependencies (requires.modules, transitively) first, then installsAfter, then
// name. Refuses what would make the image wrong rather than guessing: a dependency cycle, a
// required module that is missing or of a version outside the range, two Modules providing
// the same module, and two different pins of one apt or pip package.

#include <map>
#include <string>
#include <vector>

#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/manifest.h"

namespace cenv::modules {

// One Module of the Environment, fetched and its options resolved.
struct InstalledModule {
  std::string name;  // the Module object's name: its folder in the image, its key in messages
  ModuleManifest manifest;
  // Content digest or commit of the module's files: what identifies them for the image's
  // content hash (a change of files must change it).
  std::string revision;
  std::map<std::string, std::string> option_env;  // resolve_options() of the installation
  FileTree files;                                 // the module's source files
};

struct Resolution {
  std::vector<InstalledModule> modules;  // in install order
  // Apt packages some module pins, package -> version. Every module's unpinned mention of such
  // a package installs the pinned version (apt-get would otherwise upgrade it in a later layer).
  std::map<std::string, std::string> apt_pins;
};

// Orders `installed` (any order; names unique, as Module objects' are). Dependencies and
// installsAfter name modules by their manifest's name. Invalid, naming the modules concerned:
//   "dependency cycle: a -> b -> c -> a"
//   "module a requires b (^1.0), which is not installed in this environment"
//   "module a requires b ^2.0, but b is 1.3.0"
//   "Modules x and y both install module jq"
//   "apt package curl is pinned twice: curl=7.88 by module a, curl=7.74 by module b"
//   "pip package requests is pinned twice: requests==2.31 by module a, requests==2.28 by ..."
// A cycle of installsAfter is no error (see resolver.cc).
Result<Resolution> resolve(std::vector<InstalledModule> installed);

// The resolved graph as `cenv module tree` prints it, in the style of `tree` and `npm ls`:
// every module no other one requires, in install order, each as "name@version (revision)"
// with its dependencies indented below it; a module met again is marked "deduped" instead of
// repeated. The revision is shortened to 12 characters (without "sha256:"); a Module whose
// object name differs from its manifest's name shows it: "jq@1.6.0 [Module tools] (...)".
std::string render_tree(const Resolution& resolution);

}  // namespace cenv::modules
