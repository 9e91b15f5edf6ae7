#pragma once
// Writing JSON values as block-style YAML or as JSON text, for `-o yaml`/`-o json` and for
// anything cenv stores or prints as a manifest. What the writer emits reads back (through
// api/yaml_reader.h, or any YAML 1.1/1.2 reader) as the same value.

#include <boost/json.hpp>
#include <string>

namespace cenv {

// Block-style YAML of a value, with a trailing newline; keys keep their order.
std::string to_yaml(const boost::json::value& v);
// JSON text, indented by two spaces when `pretty`, with a trailing newline when pretty.
std::string to_json_text(const boost::json::value& v, bool pretty);

}  // namespace cenv
