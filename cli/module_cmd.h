#pragma once
// `cenv module add|list|show|tree`: install a module into an Environment (writes a Module
// object, as `cenv apply` would) and look at the modules of an Environment.

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct ModuleAddFlags {
  std::string source;  // a folder (packed and sent, as apply does) or a Git URL[#REF]
  std::string name;    // empty: the manifest's name (folder) or one derived from the URL (git)
  std::string ref;     // git: branch, tag or commit (empty: "URL#REF", else the CRD's default)
  std::string subdir;  // git: folder of the repository holding cenv-module.yaml
  std::vector<std::string> set;  // KEY=VALUE into spec.options
  bool force_conflicts = false;  // take over fields another field manager owns
};

// The field manager of `module add`: a later add replaces what an earlier one set.
inline constexpr const char* kModuleAddFieldManager = "cenv-module-add";

// `module add`: prints "module/NAME created|configured|unchanged"; 1 with a message when
// SOURCE, a flag or the apply is refused.
int run_module_add(const Context& context, const std::string& ns, const ModuleAddFlags& flags);

// `module list`: the Modules of `ns` as a table (or -o yaml|json|name).
int run_module_list(const Context& context, const std::string& ns, const std::string& output,
                    bool no_headers);

// `module show NAME`: the Module in detail (or -o yaml|json|name); 1 when it does not exist.
int run_module_show(const Context& context, const std::string& ns, const std::string& name,
                    const std::string& output);

// `module tree`: the Environment's resolved module graph; 1 when the Environment is missing.
int run_module_tree(const Context& context, const std::string& ns);

}  // namespace cenv::cli
