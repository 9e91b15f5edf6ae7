#pragma once
// What `cenv module list|show|tree` print, from objects already read: the Modules of an
// Environment (status as their reconciler writes it: revision, version, requires, commands as
// name -> {command, args, description}, conditions) and the Environment (status.image,
// status.modules as "name@revision" in install order). Pure functions; thread-safe.

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"

namespace cenv::cli {

// A revision as people read it: "sha256:" dropped, the first 12 characters.
std::string short_revision(std::string_view revision);

// The names of the modules a Module requires (status.requires.modules): each item a name, a
// name followed by a version range ("python ^3.1", "python@^3.1") or {name, version}.
std::vector<std::string> required_module_names(const Object& module);

// The names of the Module's commands (status.commands), sorted.
std::vector<std::string> command_names(const Object& module);

// `module list`: NAME, VERSION, REVISION (short), READY, COMMANDS (how many), AGE.
void print_module_table(const std::vector<Object>& modules, bool headers,
                        std::chrono::system_clock::time_point now, std::ostream& out);

// `module show`: source, options, revision, version, requires, commands with their
// descriptions, the Services the Module owns (`services`: the namespace's Services, those it
// owns are picked), conditions.
void print_module_details(const Object& module, const std::vector<Object>& services,
                          std::chrono::system_clock::time_point now, std::ostream& out);

// `module tree`: the Environment `env_name` (its image, or that it has none yet; `environment`
// nullptr when it was not found), then its modules as `npm ls` prints packages:
// "name@version (revision)", each with the modules it requires indented below it. Roots are the
// modules no other requires, in install order (status.modules), then by name; a module printed
// already with its dependencies is "deduped", a cycle "(cycle)". Flagged: a module the image
// does not have yet "(not resolved)", one whose built revision differs "(image has REV)", a
// required module with no Module object "(missing)", one the image still holds whose Module
// is gone "(removed, still in the image)".
void print_module_tree(const std::string& env_name, const Object* environment,
                       const std::vector<Object>& modules, std::ostream& out);

}  // namespace cenv::cli
