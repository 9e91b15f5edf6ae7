#pragma once
// How YAML scalars resolve to JSON values under the YAML 1.2 core schema ("true" is a bool,
// "0x1F" an integer, "1e3" a float, "~" null, anything else a string). Shared by the manifest
// reader, which types what it reads, and the writer, which quotes a string that would
// otherwise read back as something else.

#include <boost/json.hpp>
#include <optional>
#include <string_view>

namespace cenv {

// "", "~", "null", "Null" or "NULL".
bool is_yaml_null(std::string_view s);
// "true"/"True"/"TRUE" or "false"/"False"/"FALSE"; nullopt otherwise.
std::optional<bool> resolve_yaml_bool(std::string_view s);
// Decimal, 0x hex or 0o octal integer with an optional sign: int64 when it fits, else uint64,
// else double; nullopt when `s` is not an integer.
std::optional<boost::json::value> resolve_yaml_int(std::string_view s);
// A float, ".inf", "-.inf" or ".nan" (and their capitalised forms); nullopt otherwise.
std::optional<double> resolve_yaml_float(std::string_view s);
// The value of an untagged plain scalar: null, bool, integer, float, else the string itself.
boost::json::value resolve_yaml_plain(std::string_view s);

}  // namespace cenv
