#pragma once
// `cenv describe KIND NAME`: one object for people: metadata, spec, status, conditions,
// owners and recent events, as `kubectl describe` prints it.

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "api/object.h"
#include "cli/context.h"

namespace cenv::cli {

// Writes the description of `object`; `events` are the Event objects about it, any order.
void describe_object(const Object& object, const std::vector<Object>& events,
                     std::chrono::system_clock::time_point now, std::ostream& out);

// Runs `cenv describe KIND NAME... | KIND/NAME...`; `ns` is the -n flag (empty: "default").
// Returns the exit code: 1 when an argument is wrong or an object is missing (the others are
// described).
int run_describe(const Context& context, const std::string& ns,
                 const std::vector<std::string>& args);

}  // namespace cenv::cli
