#pragma once
// metadata.ownerReferences, as Kubernetes writes them: {apiVersion, kind, name, uid,
// controller, blockOwnerDeletion}. An owner is in the dependent's namespace, or cluster-scoped.
// Pure functions on value types; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"

namespace cenv {

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool block_owner_deletion = false;
  bool operator==(const OwnerReference&) const = default;
};

// The owner references of `o`; entries that are not objects or lack kind, name or uid are
// skipped.
std::vector<OwnerReference> owner_references(const Object& o);

// Makes `owner` an owner of `dependent` (replacing a reference with the same uid). With
// `controller`, it is the managing controller: at most one per object, so FailedPrecondition
// naming the other when another owner already is. Invalid when `owner` has no uid yet (store
// it first). Scope (same namespace, or a cluster-scoped owner) is the caller's to respect.
Status set_owner_reference(Object& dependent, const Object& owner, bool controller);

// True when `o` lists an owner with this uid.
bool is_owned_by(const Object& o, std::string_view owner_uid);

}  // namespace cenv
