// libFuzzer target: the manifest decoder `cenv apply -f` runs on every file (parse_manifest:
// YAML or JSON under api/limits.h's bounds), then, for each object, the normalization and
// schema validation the client's dry run and the server apply (normalize_for_write).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/kinds.h"
#include "api/write_normalization.h"
#include "api/yaml_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto kinds = cenv::KindRegistry::builtin().value();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = cenv::parse_manifest(text, "fuzz.yaml");
  if (!docs.ok()) return 0;
  for (const cenv::Document& doc : docs.value()) {
    if (!doc.value.is_object()) continue;
    cenv::Object object(doc.value.get_object());
    auto kind = cenv::manifest_kind(object, *kinds);
    if (!kind.ok()) continue;
    auto normalized = cenv::normalize_for_write(object, *kind.value(), *kinds);
    if (!normalized.ok()) (void)cenv::write_problems(normalized.status(), object);
    (void)cenv::to_yaml(object.json());
  }
  return 0;
}
