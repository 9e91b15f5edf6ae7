#pragma once
// DeletionPlan: what one delete does to the store, as Kubernetes' API server and garbage
// collector do together (DESIGN sections 2 and 5):
//  * an object with finalizers is not removed: it gets metadata.deletionTimestamp and stays
//    until its finalizers are gone;
//  * its dependents (objects whose ownerReferences name it) are deleted with it (background),
//    before it (foreground: the owner waits with the finalizer "foregroundDeletion" while
//    dependents remain), or released (orphan: their ownerReferences to it are removed);
//  * when an object finally goes, owners waiting for their dependents are finished too;
//  * an Environment is a namespace: deleting it only marks it terminating (deletionTimestamp
//    and the finalizer cenv.io/namespace); NamespaceDeleter then removes the namespace's
//    objects in bounded batches (remove_member) and finally the Environment's hold
//    (settle_namespace), as Kubernetes' namespace controller does.
// A plan reads the store and yields writes that carry resourceVersion preconditions, so the
// commit fails with Conflict if anything changed meanwhile (the caller plans again). A plan
// reads each namespace it looks into at most once.
// Not thread-safe; one plan per call.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/finalizers.h"
#include "api/kinds.h"
#include "api/object.h"
#include "api/propagation.h"
#include "controller/store/store.h"

namespace cenv {

// Calls `each` with every object of namespace `ns`, kind by kind in the registry's order (each
// kind's objects as the store lists them). The store's error when a list fails.
Status for_each_in_namespace(Store& store, const KindRegistry& kinds, const std::string& ns,
                             const std::function<void(const KindInfo&, Object&)>& each);

class DeletionPlan {
 public:
  DeletionPlan(Store& store, const KindRegistry& kinds, std::string now)
      : store_(store), kinds_(kinds), now_(std::move(now)) {}

  // Plans the deletion of `target` (as stored). An Environment is marked terminating and held
  // by kNamespaceFinalizer (and kForegroundFinalizer for foreground): its namespace is the
  // NamespaceDeleter's to empty.
  Status remove(const Object& target, Propagation propagation);
  // Plans what follows when `updated` (an object being written by an update) is terminating
  // and has lost its last finalizer: it is removed, and waiting owners are finished.
  // Returns true when the object is removed rather than updated.
  Result<bool> finish_if_released(const Object& updated);

  // Plans the removal of `member`, an object of a namespace being deleted, as listed (its
  // resourceVersion is the precondition): it goes, or is marked terminating when its own
  // finalizers hold it (then `member` must be the whole object: it is written back). Its
  // dependents are members of the namespace too, so none is looked up. Nothing is planned for
  // a member already terminating: it waits for its finalizers.
  Status remove_member(const Object& member);
  // Plans the Environment `env`'s own part of its namespace's deletion. While `content_left`
  // (objects of the namespace remain), it is marked terminating and held by kNamespaceFinalizer
  // (with kForegroundFinalizer for `propagation` foreground); once nothing is left, both go,
  // and so does the Environment unless other finalizers hold it. NotFound when it is gone.
  Status settle_namespace(const std::string& env, bool content_left, Propagation propagation);

  // The writes, updates first; empty when nothing is to be done.
  std::vector<Write> writes() const;
  // The objects removed (in planning order) and the objects left terminating.
  const std::vector<Object>& removed() const { return removed_order_; }
  std::vector<Object> terminating() const;
  // True when this plan removes `key`.
  bool removing(const ObjectKey& key) const { return removed_.count(key) > 0; }
  // True when this plan marked `key` terminating, or made it wait longer (a finalizer added
  // by the deletion): what is worth telling about once the writes are committed.
  bool newly_waiting(const ObjectKey& key) const { return newly_waiting_.count(key) > 0; }

 private:
  // The objects of namespace `ns` ("" for every namespace), read once per plan, and an index
  // from owner uid to the positions of their dependents.
  struct Listing {
    std::vector<Object> items;
    std::unordered_multimap<std::string, size_t> by_owner_uid;
  };
  Result<const Listing*> listing(const std::string& ns);
  Result<std::vector<Object>> children(const Object& owner);
  Status release(const Object& gone);  // finishes owners that waited for `gone`
  Status finish(Object owner, std::string_view finalizer);
  // Marks `o` terminating (deletionTimestamp now) unless it is already.
  void mark_terminating(Object& o);
  // The current state of `key` within this plan (updated copy, or as stored).
  Result<Object> current(const ObjectKey& key);
  void mark_removed(const Object& o);

  Store& store_;
  const KindRegistry& kinds_;
  std::string now_;
  std::map<ObjectKey, Object> updates_;
  std::set<ObjectKey> removed_;
  std::vector<Object> removed_order_;
  std::set<ObjectKey> newly_waiting_;
  std::map<std::string, Listing> listings_;
};

}  // namespace cenv
