#pragma once
// JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902), for `cenv patch`.

#include <boost/json.hpp>
#include <string_view>

#include "api/status.h"

namespace cenv {

// Applies a merge patch to `target` in place: objects merge recursively, null removes a member,
// anything else replaces. Never fails.
void apply_merge_patch(boost::json::value& target, const boost::json::value& patch);

// Applies a JSON Patch (an array of {op, path, value|from}) to `target`: all or nothing.
// Invalid naming the failing operation (index, op, path) and why; a failing "test" too.
Status apply_json_patch(boost::json::value& target, const boost::json::value& patch);

}  // namespace cenv
