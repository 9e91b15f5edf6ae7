#include "cli/module_packing.h"

#include <map>

#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/limits.h"
#include "modules/folder_source.h"
#include "modules/tar_archive.h"

namespace cenv::cli {

namespace json = boost::json;

Result<std::vector<PackedSource>> pack_module_sources(std::vector<ManifestObject>& manifests) {
  std::vector<PackedSource> packed;
  std::map<std::string, std::string> digest_of_folder;  // canonical folder -> digest
  size_t total = 0;
  for (ManifestObject& m : manifests) {
    Object& o = m.object;
    if (o.kind() != "Module") continue;
    json::object* source = nullptr;
    if (o.spec_or_null() != nullptr) {
      if (json::value* v = o.spec().if_contains("source"); v && v->is_object()) {
        source = &v->as_object();
      }
    }
    std::string_view path = source ? string_field(*source, "path") : std::string_view();
    if (path.empty()) continue;
    const std::string object =
        (m.source.empty() ? "" : m.source + ": ") + "Module " + std::string(o.name()) + ": ";
    // resolve_module_path names the field itself; the other errors are about the folder.
    const std::string where = object + "spec.source.path \"" + escape_for_display(path) + "\": ";
    auto folder = modules::resolve_module_path(m.dir, path);
    if (!folder.ok()) return Status(folder.status().code(), object + folder.status().message());
    auto known = digest_of_folder.find(folder.value().string());
    if (known != digest_of_folder.end()) {
      (*source)["digest"] = known->second;
      continue;
    }
    auto tree = modules::read_folder(folder.value(), modules::SourceLimits{});
    if (!tree.ok()) return Status(tree.status().code(), where + tree.status().message());
    std::string digest = modules::tree_digest(tree.value());
    auto tar = modules::write_tar(tree.value(), /*gzip=*/true);
    if (!tar.ok()) return Status(tar.status().code(), where + tar.status().message());
    total += tar.value().size();
    if (total > kMaxPackedModuleBytes) {
      return Status::Invalid(where + "the packed module folders of this apply pass " +
                             std::to_string(kMaxPackedModuleBytes >> 20) +
                             " MiB; apply them in several calls");
    }
    (*source)["digest"] = digest;
    digest_of_folder.emplace(folder.value().string(), digest);
    bool seen = false;
    for (const PackedSource& p : packed) seen = seen || p.digest == digest;
    if (!seen) packed.push_back({std::move(digest), std::move(tar.value())});
  }
  return packed;
}

}  // namespace cenv::cli
