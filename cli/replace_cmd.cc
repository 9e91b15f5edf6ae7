#include "cli/replace_cmd.h"

#include <iostream>
#include <memory>

#include "api/write_normalization.h"
#include "cli/common.h"
#include "cli/controller_client.h"
#include "cli/manifest_reader.h"
#include "cli/printers.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

// Attempts at an unconditional replace when the object keeps changing under it (its status is
// written by the controller, which takes a new resourceVersion each time).
constexpr int kAttempts = 5;

// Copies metadata[key] from `live` into `desired` when `desired` has none.
void keep_if_absent(const Object& live, Object& desired, std::string_view key) {
  const json::object* from = live.metadata_or_null();
  const json::value* v = from ? from->if_contains(key) : nullptr;
  if (v && !desired.metadata().contains(key)) desired.metadata()[key] = *v;
}

// Replaces the object of one manifest: the stored object, else the error to print.
Result<Object> replace_one(ControllerClient& client, const ManifestObject& m,
                           const std::string& field_manager) {
  Object desired = m.object;
  auto kind = manifest_kind(desired, registry());
  if (!kind.ok()) return kind.status().with_prefix(m.source);
  auto precondition = normalize_for_write(desired, *kind.value(), registry());
  if (!precondition.ok()) {
    std::string message;
    for (const auto& line : write_problems(precondition.status(), desired)) {
      message += (message.empty() ? "" : "\n") + m.source + ": " + line;
    }
    return Status::Invalid(message, precondition.status().fields());
  }
  for (int attempt = 1;; ++attempt) {
    auto live = client.get(std::string(desired.kind()), std::string(desired.ns()),
                           std::string(desired.name()));
    if (!live.ok()) return live.status().with_prefix(m.source);
    Object sent = desired;
    keep_if_absent(live.value(), sent, "finalizers");
    keep_if_absent(live.value(), sent, "ownerReferences");
    // Without a resourceVersion in the manifest, the one just read guards what was kept from it.
    int64_t version = precondition->resource_version;
    sent.set_resource_version(version != 0 ? version : live->resource_version());
    auto stored = client.update(sent, field_manager);
    if (stored.ok()) return stored;
    bool retry = version == 0 && stored.status().code() == Code::kConflict && attempt < kAttempts;
    if (!retry) return stored.status().with_prefix(m.source);
  }
}

}  // namespace

int run_replace(const Context& context, const std::string& ns, const ReplaceFlags& flags) {
  auto manifests = read_manifests(flags.files, flags.recursive);
  if (!manifests.ok()) {
    print_error(manifests.status(), false);
    return 1;
  }
  auto client = context.connect();
  int rc = 0;
  for (ManifestObject& m : manifests.value()) {
    if (!ns.empty() && m.object.ns().empty()) {
      const KindInfo* info = registry().find(m.object.kind());
      if (info && info->namespaced) m.object.set_ns(ns);
    }
    auto stored = replace_one(*client, m, flags.field_manager);
    if (!stored.ok()) {
      print_error(stored.status(), stored.status().code() != Code::kInvalid);
      rc = 1;
      continue;
    }
    std::cout << object_ref(stored.value()) << " replaced\n";
  }
  return rc;
}

}  // namespace cenv::cli
