#pragma once
// StoredBindings: the RoleBinding authorizer (controller/security/authorizer.h) of the
// RoleBindings and ClusterRoleBindings the store holds, kept current without reading them on
// every call: when the store's revision has moved since the last look, the event history since
// then says whether a binding was written; the authorizer is built again only then (or when
// that history is gone, compacted, or longer than `max_scan` events). A binding written before
// a call returns is in force for every call that starts after it. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "controller/security/authorizer.h"
#include "controller/store/store.h"

namespace cenv {

struct StoredBindingsOptions {
  // Most history events read to learn whether a binding changed; past that, the bindings are
  // read again instead. Default 1000.
  size_t max_scan = 1000;
};

class StoredBindings {
 public:
  // `store` must outlive this.
  explicit StoredBindings(Store& store, StoredBindingsOptions options = {});

  // The authorizer of the bindings stored now. When the store cannot be read, the last one
  // built (logged), or one granting nothing when there is none yet: the local owner, never
  // asked, still passes.
  std::shared_ptr<const security::Authorizer> current();

  // How many times the authorizer was built from the stored bindings (for tests).
  int64_t builds() const;

 private:
  // Whether a RoleBinding or ClusterRoleBinding was written after revision seen_ (up to
  // `revision`); true when the history cannot say. Called under mu_.
  bool bindings_changed(int64_t revision);
  // Reads the bindings and builds the authorizer; the last one on a store error. Under mu_.
  void build(int64_t revision);

  Store& store_;
  const StoredBindingsOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const security::Authorizer> authorizer_;  // guarded by mu_
  int64_t seen_ = -1;   // the revision authorizer_ is known current at; guarded by mu_
  int64_t builds_ = 0;  // guarded by mu_
};

}  // namespace cenv
