#pragma once
// A sync request on an Environment with a Git source (the annotation cenv.io/sync-requested-at,
// api/annotations.h): one home for how it is written, shared by `cenv sync` and the controller's
// Git webhook.

#include <chrono>
#include <string>
#include <string_view>

#include "api/object.h"

namespace cenv {

// Sets metadata.annotations[annotation] = `value` on `object` (making the map when missing);
// every other field stays as it was.
void set_annotation(Object& object, std::string_view annotation, std::string_view value);

// Records on `env` a sync request made at `at`: the annotation cenv.io/sync-requested-at set
// to `at` in RFC 3339 UTC with milliseconds (two pushes within one second are two requests),
// or 1 ms later when the annotation holds that value already, so that every request is a
// change the source reconciler sees. Returns the value set.
std::string record_sync_request(Object& env, std::chrono::system_clock::time_point at);

// Whether `env` has spec.source (an Environment that follows a Git repository).
bool has_git_source(const Object& env);

}  // namespace cenv
