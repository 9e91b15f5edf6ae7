#pragma once
// `cenv patch` and `cenv edit`: change one live object, as `kubectl patch` / `kubectl edit`.
// Both write through Update with their own field manager, so a later apply keeps their fields.

#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/context.h"

namespace cenv::cli {

struct PatchFlags {
  std::vector<std::string> args;  // KIND NAME or KIND/NAME
  std::string patch;              // -p
  std::string type = "merge";     // merge or json
  std::string field_manager = "cenv-patch";
};

int run_patch(const Context& context, const std::string& ns, const PatchFlags& flags);

struct EditFlags {
  std::vector<std::string> args;
  std::string output = "yaml";  // yaml or json, the format handed to the editor
  std::string field_manager = "cenv-edit";
  mode_t editor_umask = 022;  // the umask $EDITOR runs with (the user's; cenv's own is 077)
};

int run_edit(const Context& context, const std::string& ns, const EditFlags& flags);

}  // namespace cenv::cli
