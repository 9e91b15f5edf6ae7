#include "controller/server/deletion_plan.h"

#include <algorithm>

#include "api/owner_references.h"

namespace cenv {

namespace json = boost::json;

Result<Object> DeletionPlan::current(const ObjectKey& key) {
  if (auto it = updates_.find(key); it != updates_.end()) return it->second;
  return store_.get(key);
}

void DeletionPlan::mark_removed(const Object& o) {
  updates_.erase(o.key());
  newly_waiting_.erase(o.key());
  if (removed_.insert(o.key()).second) removed_order_.push_back(o);
}

void DeletionPlan::mark_terminating(Object& o) {
  if (is_being_deleted(o)) return;
  o.metadata()["deletionTimestamp"] = now_;
  newly_waiting_.insert(o.key());
}

Status for_each_in_namespace(Store& store, const KindRegistry& kinds, const std::string& ns,
                             const std::function<void(const KindInfo&, Object&)>& each) {
  for (const KindInfo& k : kinds.kinds()) {
    if (!k.namespaced) continue;
    ListOptions options;
    options.kind = k.kind;
    options.ns = ns;
    auto list = store.list(options);
    if (!list.ok()) return list.status();
    for (Object& o : list->items) each(k, o);
  }
  return Status::Ok();
}

Result<const DeletionPlan::Listing*> DeletionPlan::listing(const std::string& ns) {
  if (auto it = listings_.find(ns); it != listings_.end()) return &it->second;
  Listing l;
  CENV_RETURN_IF_ERROR(for_each_in_namespace(store_, kinds_, ns, [&l](const KindInfo&, Object& o) {
    std::set<std::string> owners;  // a uid named twice is one owner
    for (OwnerReference& r : owner_references(o)) {
      if (owners.insert(r.uid).second) l.by_owner_uid.emplace(std::move(r.uid), l.items.size());
    }
    l.items.push_back(std::move(o));
  }));
  return &listings_.emplace(ns, std::move(l)).first->second;
}

Result<std::vector<Object>> DeletionPlan::children(const Object& owner) {
  // Dependents share the owner's namespace; a cluster-scoped owner's may be in any.
  auto l = listing(std::string(owner.ns()));
  if (!l.ok()) return l.status();
  const Listing& listed = *l.value();
  std::vector<size_t> positions;
  auto [first, last] = listed.by_owner_uid.equal_range(std::string(owner.uid()));
  for (auto it = first; it != last; ++it) positions.push_back(it->second);
  std::sort(positions.begin(), positions.end());  // in listing order, as the store lists
  std::vector<Object> out;
  for (size_t i : positions) {
    const Object& o = listed.items[i];
    if (removing(o.key())) continue;
    auto updated = updates_.find(o.key());
    out.push_back(updated != updates_.end() ? updated->second : o);
  }
  return out;
}

Status DeletionPlan::remove(const Object& stored_target, Propagation propagation) {
  if (removing(stored_target.key())) return Status::Ok();
  if (stored_target.kind() == "Environment") {
    return settle_namespace(std::string(stored_target.name()), /*content_left=*/true, propagation);
  }
  auto fresh = current(stored_target.key());
  if (!fresh.ok()) return fresh.status();
  Object target = fresh.value();
  if (is_being_deleted(target) && !has_finalizer(target, kForegroundFinalizer) &&
      propagation != Propagation::kForeground) {
    return Status::Ok();  // already being deleted
  }
  auto kids = children(target);
  if (!kids.ok()) return kids.status();
  if (propagation == Propagation::kOrphan) {
    for (Object kid : kids.value()) {
      json::object& m = kid.metadata();
      json::array& refs = m["ownerReferences"].get_array();
      for (auto it = refs.begin(); it != refs.end();) {
        it = (it->is_object() && Object::str_field(it->get_object(), "uid") == target.uid())
                 ? refs.erase(it)
                 : it + 1;
      }
      if (refs.empty()) m.erase("ownerReferences");
      updates_[kid.key()] = std::move(kid);
    }
    kids->clear();
  }
  Propagation child_propagation =
      propagation == Propagation::kForeground ? Propagation::kForeground : Propagation::kBackground;
  for (const Object& kid : kids.value()) {
    CENV_RETURN_IF_ERROR(remove(kid, child_propagation));
  }
  bool waiting = false;
  for (const Object& kid : kids.value()) waiting |= !removing(kid.key());
  if (waiting && propagation == Propagation::kForeground &&
      add_finalizer(target, kForegroundFinalizer)) {
    newly_waiting_.insert(target.key());
  }
  if (finalizer_count(target) == 0) {
    mark_removed(target);
    return release(target);
  }
  mark_terminating(target);
  updates_[target.key()] = std::move(target);
  return Status::Ok();
}

Status DeletionPlan::remove_member(const Object& listed) {
  if (removing(listed.key())) return Status::Ok();
  auto updated = updates_.find(listed.key());
  Object member = updated != updates_.end() ? updated->second : listed;
  if (is_being_deleted(member)) return Status::Ok();  // waits for its finalizers
  if (finalizer_count(member) == 0) {
    mark_removed(member);
    return release(member);
  }
  mark_terminating(member);
  updates_[member.key()] = std::move(member);
  return Status::Ok();
}

Status DeletionPlan::settle_namespace(const std::string& name, bool content_left,
                                      Propagation propagation) {
  ObjectKey key{"Environment", "", name};
  if (removing(key)) return Status::Ok();
  auto fresh = current(key);
  if (!fresh.ok()) return fresh.status();
  Object env = std::move(fresh).value();
  bool was_terminating = is_being_deleted(env);
  bool changed = false;
  if (content_left) {
    changed |= add_finalizer(env, kNamespaceFinalizer);
    if (propagation == Propagation::kForeground) {
      changed |= add_finalizer(env, kForegroundFinalizer);
    }
    if (changed) newly_waiting_.insert(key);
  } else {
    changed |= remove_finalizer(env, kNamespaceFinalizer);
    changed |= remove_finalizer(env, kForegroundFinalizer);
    if (finalizer_count(env) == 0) {
      // Not marked first: an Environment that goes at once is reported as it was.
      mark_removed(env);
      return release(env);
    }
  }
  mark_terminating(env);  // held by its own finalizers, or for its namespace
  if (changed || !was_terminating) updates_[key] = std::move(env);
  return Status::Ok();
}

Result<bool> DeletionPlan::finish_if_released(const Object& updated) {
  if (!is_being_deleted(updated) || finalizer_count(updated) > 0) return false;
  mark_removed(updated);
  CENV_RETURN_IF_ERROR(release(updated));
  return true;
}

Status DeletionPlan::finish(Object owner, std::string_view finalizer) {
  if (!is_being_deleted(owner) || !has_finalizer(owner, finalizer)) return Status::Ok();
  // An Environment's dependents are its namespace: NamespaceDeleter settles it.
  if (owner.kind() == "Environment") return Status::Ok();
  auto kids = children(owner);
  if (!kids.ok()) return kids.status();
  if (!kids->empty()) return Status::Ok();
  remove_finalizer(owner, finalizer);
  if (finalizer_count(owner) == 0) {
    mark_removed(owner);
    return release(owner);
  }
  updates_[owner.key()] = std::move(owner);
  return Status::Ok();
}

Status DeletionPlan::release(const Object& gone) {
  // Owners in foreground deletion that waited for this object. (The Environment of its
  // namespace, when it waits, is settled by NamespaceDeleter, told of every removal.)
  const json::object* m = gone.metadata_or_null();
  if (!m) return Status::Ok();
  auto it = m->find("ownerReferences");
  if (it == m->end() || !it->value().is_array()) return Status::Ok();
  for (const auto& ref : it->value().get_array()) {
    if (!ref.is_object()) continue;
    const json::object& r = ref.get_object();
    const KindInfo* info = kinds_.find(Object::str_field(r, "kind"));
    if (!info) continue;
    ObjectKey key{info->kind, info->namespaced ? std::string(gone.ns()) : "",
                  std::string(Object::str_field(r, "name"))};
    if (removing(key)) continue;
    auto owner = current(key);
    if (!owner.ok()) {
      if (owner.status().code() == Code::kNotFound) continue;
      return owner.status();
    }
    if (owner->uid() != Object::str_field(r, "uid")) continue;
    CENV_RETURN_IF_ERROR(finish(owner.value(), kForegroundFinalizer));
  }
  return Status::Ok();
}

std::vector<Write> DeletionPlan::writes() const {
  std::vector<Write> out;
  for (const auto& [key, obj] : updates_) out.push_back({WriteOp::kUpdate, obj});
  for (const Object& o : removed_order_) out.push_back({WriteOp::kDelete, o});
  return out;
}

std::vector<Object> DeletionPlan::terminating() const {
  std::vector<Object> out;
  for (const auto& [key, obj] : updates_) {
    if (is_being_deleted(obj)) out.push_back(obj);
  }
  return out;
}

}  // namespace cenv
