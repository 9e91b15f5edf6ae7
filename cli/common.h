#pragma once
// What every verb of the CLI shares: error printing, the kinds, argument splitting.

#include <chrono>
#include <string>
#include <vector>

#include "api/kinds.h"
#include "api/status.h"

namespace cenv::cli {

// Prints one error per line to stderr. Single-line errors the server answered with
// (`from_server`) read "Error from server (Reason): ..." as kubectl's do; others "error: ...".
void print_error(const Status& s, bool from_server = true);

// The kinds built into this binary (crds/). Exits with code 2 if they are broken.
const KindRegistry& registry();

// NotFound ("the server doesn't have a resource type") for an unknown kind name.
Result<const KindInfo*> resolve_kind(const std::string& name);

// Splits on `sep`, dropping empty parts.
std::vector<std::string> split(const std::string& s, char sep);

// Parses a duration such as "500ms", "30s", "2m", "1h30m" (a bare number is seconds).
Result<std::chrono::milliseconds> parse_duration(const std::string& text);

struct ObjectRef {
  const KindInfo* kind = nullptr;
  std::string name;
};
// Resolves "KIND NAME..." or "KIND/NAME..." arguments; Invalid/NotFound with kubectl's words.
Result<std::vector<ObjectRef>> resolve_refs(const std::vector<std::string>& args);

}  // namespace cenv::cli
