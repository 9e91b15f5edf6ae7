#pragma once
// `cenv describe KIND NAME`: one object for people: metadata, spec, status, conditions,
// owners and recent events, as `kubectl describe` prints it.

#include <chrono>
#include <ostream>
#include <vector>

#include "api/object.h"

namespace cenv::cli {

// Writes the description of `object`; `events` are the Event objects about it, any order.
void describe_object(const Object& object, const std::vector<Object>& events,
                     std::chrono::system_clock::time_point now, std::ostream& out);

}  // namespace cenv::cli
