#include "api/sync_request.h"

#include <cstdio>

#include "api/annotations.h"
#include "api/clock.h"
#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

namespace {

// "2026-12-03T05:12:14.123Z".
std::string format_rfc3339_millis(std::chrono::system_clock::time_point t) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (millis < 0) millis += 1000;
  std::string seconds = format_rfc3339(t);  // "...:14Z"
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03d", static_cast<int>(millis));
  return seconds.substr(0, seconds.size() - 1) + fraction + "Z";
}

}  // namespace

void set_annotation(Object& object, std::string_view annotation, std::string_view value) {
  json::value& annotations = object.metadata()["annotations"];
  if (!annotations.is_object()) annotations = json::object();
  annotations.as_object()[annotation] = value;
}

std::string record_sync_request(Object& env, std::chrono::system_clock::time_point at) {
  const std::string current(string_field(object_field(env.metadata_or_null(), "annotations"),
                                         kSyncRequestedAtAnnotation));
  std::string value = format_rfc3339_millis(at);
  if (value == current) value = format_rfc3339_millis(at + std::chrono::milliseconds(1));
  set_annotation(env, kSyncRequestedAtAnnotation, value);
  return value;
}

bool has_git_source(const Object& env) {
  const json::object* spec = env.spec_or_null();
  const json::value* source = spec ? spec->if_contains("source") : nullptr;
  return source != nullptr && source->is_object();
}

}  // namespace cenv
