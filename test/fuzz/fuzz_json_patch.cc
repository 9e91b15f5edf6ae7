// libFuzzer target: `cenv patch` — a JSON patch (RFC 6902) and a merge patch (RFC 7386)
// applied to an object. The input is the object as JSON on its first line, then the patch
// (JSON or YAML, as --patch takes it) on the lines after it.
// Invariant: a JSON patch that fails leaves the object unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/json_patch.h"
#include "api/object.h"
#include "api/yaml_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  auto object = cenv::Object::from_json(input.substr(0, newline));
  if (!object.ok()) return 0;
  auto patch = cenv::parse_manifest(input.substr(newline + 1), "--patch");
  if (!patch.ok() || patch->size() != 1) return 0;
  const boost::json::value& ops = patch->front().value;

  const boost::json::value original(object->json());
  boost::json::value doc = original;
  cenv::Status s = cenv::apply_json_patch(doc, ops);
  if (!s.ok() && doc != original) std::abort();
  if (s.ok()) (void)boost::json::serialize(doc);

  boost::json::value merged = original;
  cenv::apply_merge_patch(merged, ops);
  (void)boost::json::serialize(merged);
  return 0;
}
