#pragma once
// The one rule an object written from a manifest goes through before it is stored: the
// server's apply and update (ApiService) and the CLI's checks before it sends (apply's client
// dry run, replace) normalize it alike, so the CLI never promises what the server refuses.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/kinds.h"
#include "api/object.h"
#include "api/status.h"

namespace cenv {

// The label that makes an object a member of an apply set (`cenv apply --applyset=NAME`).
inline constexpr std::string_view kApplySetLabel = "applyset.cenv.io/part-of";

struct WriteNormalizationOptions {
  // Non-empty: the object is labelled a member of this apply set (kApplySetLabel=applyset).
  // Default: empty, no label.
  std::string applyset;
};

// What normalization took out of the object for the write itself.
struct WritePrecondition {
  // metadata.resourceVersion as the writer sent it: the stored version the write expects to
  // replace (a stale one is a Conflict, as in Kubernetes). 0: none, the write is unconditional.
  int64_t resource_version = 0;
};

// Whether `precondition` holds for a write of `object` against `stored` (nullptr: no such object
// is stored): Ok without a resourceVersion or when it is the stored one; else Conflict
// "Operation cannot be fulfilled on Service \"web\" in namespace \"demo\": the object has been
// modified; please apply your changes to the latest version and try again" (as Kubernetes
// says it), or "...: the object does not exist ..." when nothing is stored.
Status check_precondition(const WritePrecondition& precondition, const Object& object,
                          const Object* stored);

// The kind a manifest object names: apiVersion must be cenv.io/v1 and kind a kind's own name
// (not a plural or short name). Invalid "apiVersion: Unsupported value: ..." or "kind:
// Unsupported value: ..." (no field errors) otherwise. The returned kind lives in `kinds`.
Result<const KindInfo*> manifest_kind(const Object& object, const KindRegistry& kinds);

// Normalizes `object`, of kind `info`, for a write: takes out the metadata only the server
// sets (uid, resourceVersion, generation, timestamps, managedFields; the resourceVersion is
// returned as the write's precondition), labels it into options.applyset, fills namespace
// "default" for a namespaced kind and drops an empty one of a cluster-scoped kind, then applies
// the schema's defaults and validates metadata and schema. On failure Invalid
// "<Kind> \"<name>\" is invalid" with every failing field (a resourceVersion that is not a
// non-negative integer among them); `object` keeps what was done to it either way.
Result<WritePrecondition> normalize_for_write(Object& object, const KindInfo& info,
                                              const KindRegistry& kinds,
                                              const WriteNormalizationOptions& options = {});

// The lines a failed manifest_kind() or normalize_for_write() is reported with, one per
// problem: `Service "web" in namespace "demo": spec.colour: unknown field`, or the message
// alone when it names no field.
std::vector<std::string> write_problems(const Status& failed, const Object& object);

// `Service "web" in namespace "demo"` (`Environment "demo"`): an object as messages name it.
std::string describe_object(const Object& object);

}  // namespace cenv
