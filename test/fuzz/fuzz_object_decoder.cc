// libFuzzer target: the API object decoder the controller runs on every object a request
// carries (Object::from_json, under api/limits.h's bounds), then what ApiService does before a
// write: the kind, normalization, defaults and schema validation (normalize_for_write).
// Invariant: a decoded object serializes to JSON that decodes to the same object.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/kinds.h"
#include "api/object.h"
#include "api/write_normalization.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto kinds = cenv::KindRegistry::builtin().value();
  auto object =
      cenv::Object::from_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!object.ok()) return 0;
  auto again = cenv::Object::from_json(object->to_json());
  if (!again.ok() || !(again.value() == object.value())) std::abort();
  auto kind = cenv::manifest_kind(object.value(), *kinds);
  if (!kind.ok()) return 0;
  auto normalized = cenv::normalize_for_write(object.value(), *kind.value(), *kinds);
  if (!normalized.ok()) (void)cenv::write_problems(normalized.status(), object.value());
  (void)cenv::describe_object(object.value());
  return 0;
}
