#pragma once
// A docker compose file as cenv objects (`cenv convert`, after Kompose): one Environment, and one
// Service per compose service. What a Service cannot carry is listed as a warning naming the
// service and the key, never dropped silently.

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "api/status.h"
#include "cli/compose_variables.h"

namespace cenv::cli {

struct ComposeConvertOptions {
  // Name of the file, for messages ("docker-compose.yml").
  std::string source;
  // Folder env_file paths are relative to (the compose file's). Default: the current folder.
  std::string base_dir = ".";
  // Name of the Environment. Empty: the compose file's top-level `name`, else `project`.
  std::string environment;
  // The compose project name when the file has no `name` (docker compose uses the folder's
  // name); names the image of a service that only has `build` (<project>-<service>).
  std::string project = "compose";
  // The project's variables: where `environment: [NAME]` (a name without a value) takes its
  // value, and what ${...} in env_file values expands from. Default: none (unset).
  VariableLookup lookup;
};

struct ComposeConversion {
  std::vector<boost::json::object> objects;  // the Environment first, then the Services
  std::vector<std::string> warnings;         // what was not carried over, or carried differently
};

// Converts `compose`, an interpolated compose document (interpolate_compose). Invalid
// "<source>: <key path>: ..." when it is not a compose file (no `services` map) or a value has
// the wrong shape (services.web.ports[0]: ...), or a name cannot become a cenv name.
Result<ComposeConversion> convert_compose(const boost::json::value& compose,
                                          const ComposeConvertOptions& options);

// `name` as a DNS-1123 label: lower case, '_' and '.' as '-', other characters dropped, at most
// 63 characters; empty when nothing is left.
std::string dns_label_from(std::string_view name);

}  // namespace cenv::cli
