#pragma once
// DeletionPlan: what one delete does to the store, as Kubernetes' API server and garbage
// collector do together (DESIGN sections 2 and 5):
//  * an object with finalizers is not removed: it gets metadata.deletionTimestamp and stays
//    until its finalizers are gone;
//  * its dependents (objects whose ownerReferences name it, and for an Environment every object
//    in its namespace) are deleted with it (background), before it (foreground: the owner waits
//    with the finalizer "foregroundDeletion" while dependents remain), or released (orphan:
//    their ownerReferences to it are removed);
//  * when an object finally goes, owners waiting for their dependents are finished too.
// A plan reads the store and yields writes that carry resourceVersion preconditions, so the
// commit fails with Conflict if anything changed meanwhile (the caller plans again).
// Not thread-safe; one plan per call.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/finalizers.h"
#include "api/kinds.h"
#include "api/object.h"
#include "api/propagation.h"
#include "controller/store/store.h"

namespace cenv {

class DeletionPlan {
 public:
  DeletionPlan(Store& store, const KindRegistry& kinds, std::string now)
      : store_(store), kinds_(kinds), now_(std::move(now)) {}

  // Plans the deletion of `target` (as stored).
  Status remove(const Object& target, Propagation propagation);
  // Plans what follows when `updated` (an object being written by an update) is terminating
  // and has lost its last finalizer: it is removed, and waiting owners are finished.
  // Returns true when the object is removed rather than updated.
  Result<bool> finish_if_released(const Object& updated);

  // The writes, updates first; empty when nothing is to be done.
  std::vector<Write> writes() const;
  // The objects removed (in planning order) and the objects left terminating.
  const std::vector<Object>& removed() const { return removed_order_; }
  std::vector<Object> terminating() const;

 private:
  Result<std::vector<Object>> children(const Object& owner);
  Status release(const Object& gone);  // finishes owners that waited for `gone`
  Status finish(Object owner, std::string_view finalizer);
  // The current state of `key` within this plan (updated copy, or as stored).
  Result<Object> current(const ObjectKey& key);
  bool removing(const ObjectKey& key) const { return removed_.count(key) > 0; }
  void mark_removed(const Object& o);

  Store& store_;
  const KindRegistry& kinds_;
  std::string now_;
  std::map<ObjectKey, Object> updates_;
  std::set<ObjectKey> removed_;
  std::vector<Object> removed_order_;
  std::set<ObjectKey> finishing_;  // Environments whose finish() is on the stack
};

}  // namespace cenv
