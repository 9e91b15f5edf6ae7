#pragma once
// Variables of a docker compose file, as docker compose reads them: `.env`-style files (the
// `.env` beside the compose file, and each service's env_file) and `${VAR}` interpolation of
// the compose file's values from the process environment over the `.env` file.

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/status.h"

namespace cenv::cli {

// Looks a variable up: its value, or nullopt when it is not set.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

// NAME=VALUE pairs of a dotenv file, in file order (a later NAME wins when looked up).
using DotenvEntries = std::vector<std::pair<std::string, std::string>>;

// Parses dotenv text as docker compose does: `NAME=VALUE` lines, `export NAME=VALUE`, blank
// lines and `#` comments skipped; a value in single quotes is literal, one in double quotes
// knows \n \t \" \\ escapes, an unquoted one ends at " #" and is trimmed; a line `NAME` alone
// is NAME with an empty value. With `lookup`, ${...} in a value not in single quotes is
// expanded as interpolate_compose does, from the file's earlier lines, then `lookup` (unset
// variables add to `warnings`). Invalid "<source>: line N: ..." for a line that is none of these.
Result<DotenvEntries> parse_dotenv(std::string_view text, std::string_view source,
                                   const VariableLookup* lookup = nullptr,
                                   std::vector<std::string>* warnings = nullptr);

// Reads and parses a dotenv file (at most the manifest size limit), as parse_dotenv; NotFound
// when missing.
Result<DotenvEntries> read_dotenv_file(const std::string& path,
                                       const VariableLookup* lookup = nullptr,
                                       std::vector<std::string>* warnings = nullptr);

// Replaces, in every string value of `doc` (never in keys), `$VAR` and `${VAR}` by the
// variable's value, `${VAR:-default}` / `${VAR-default}` by the default when VAR is unset or
// empty / unset, `${VAR:+alt}` / `${VAR+alt}` by alt when VAR is set and non-empty / set,
// and `$$` by `$`; defaults may hold further `${...}`. An unset variable without a default is
// an empty string and adds a warning naming it (as docker compose does). `${VAR:?message}` /
// `${VAR?message}` with VAR unset (or empty) and a malformed `${` are Invalid errors naming
// `source` and the key path (services.web.image).
Status interpolate_compose(boost::json::value& doc, const VariableLookup& lookup,
                           std::string_view source, std::vector<std::string>* warnings);

}  // namespace cenv::cli
