#pragma once
// A module's options: the typed parameters its manifest declares (`options`), the values one
// installation sets (Module `spec.options`), and the environment variables the install step
// gets from them, named as Dev Container Features name them (option install-dir: INSTALL_DIR).

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv::modules {

struct ModuleManifest;  // modules/manifest.h

enum class OptionType { kString, kBoolean, kInteger, kEnum };

// "string", "boolean", "integer" or "enum".
std::string_view option_type_name(OptionType type);

// One declared option.
struct OptionSpec {
  OptionType type = OptionType::kString;
  // The default as its variable's text: a string as is, "true"/"false", a decimal integer.
  std::string default_value;
  std::string description;
  std::vector<std::string> values;  // the allowed values of an enum; empty for other types
};

// The environment variable of option `name`: upper case, every character other than a letter
// or digit as '_' ("install-dir" -> "INSTALL_DIR").
std::string option_variable(std::string_view name);

// The text of `value` as the variable of an option of `spec`'s type: a string (or an enum's
// value) as is, a boolean as "true"/"false", an integer in decimal. As `cenv module add --set`
// writes strings, a boolean also accepts the strings "true" and "false" and an integer a string
// of decimal digits. Invalid ("must be a boolean (true or false)", "must be one of ...") when
// it is of another type; the message names no field (the caller knows it).
Result<std::string> option_value_text(const OptionSpec& spec, const boost::json::value& value);

// The install step's variables of one installation: every option of `manifest` at its default,
// overridden by `set` (the Module's spec.options; nullptr: none set). Invalid naming
// "<field>.<name>" (e.g. spec.options.version) for an option the manifest does not declare
// (listing those it does) or a value of the wrong type (saying the type expected).
Result<std::map<std::string, std::string>> resolve_options(const ModuleManifest& manifest,
                                                           const boost::json::object* set,
                                                           std::string_view field);

}  // namespace cenv::modules
