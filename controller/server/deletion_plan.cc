#include "controller/server/deletion_plan.h"

#include "api/owner_references.h"

namespace cenv {

namespace json = boost::json;

Result<Object> DeletionPlan::current(const ObjectKey& key) {
  if (auto it = updates_.find(key); it != updates_.end()) return it->second;
  return store_.get(key);
}

void DeletionPlan::mark_removed(const Object& o) {
  updates_.erase(o.key());
  if (removed_.insert(o.key()).second) removed_order_.push_back(o);
}

Result<std::vector<Object>> DeletionPlan::children(const Object& owner) {
  std::vector<Object> out;
  bool environment = owner.kind() == "Environment";
  for (const KindInfo& k : kinds_.kinds()) {
    if (!k.namespaced) continue;
    ListOptions options;
    options.kind = k.kind;
    if (environment) {
      options.ns = std::string(owner.name());
    } else if (!owner.ns().empty()) {
      options.ns = std::string(owner.ns());
    }
    auto list = store_.list(options);
    if (!list.ok()) return list.status();
    for (Object& o : list->items) {
      if (removing(o.key())) continue;
      if (environment || is_owned_by(o, owner.uid())) {
        if (auto it = updates_.find(o.key()); it != updates_.end()) {
          out.push_back(it->second);
        } else {
          out.push_back(std::move(o));
        }
      }
    }
  }
  return out;
}

Status DeletionPlan::remove(const Object& stored_target, Propagation propagation) {
  if (removing(stored_target.key())) return Status::Ok();
  auto fresh = current(stored_target.key());
  if (!fresh.ok()) return fresh.status();
  Object target = fresh.value();
  bool environment = target.kind() == "Environment";
  if (is_being_deleted(target) && !has_finalizer(target, kForegroundFinalizer) &&
      propagation != Propagation::kForeground) {
    return Status::Ok();  // already being deleted
  }
  auto kids = children(target);
  if (!kids.ok()) return kids.status();
  if (propagation == Propagation::kOrphan && !environment) {
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
  if (waiting && propagation == Propagation::kForeground) {
    add_finalizer(target, kForegroundFinalizer);
  }
  if (waiting && environment) add_finalizer(target, kNamespaceFinalizer);
  if (finalizer_count(target) == 0) {
    mark_removed(target);
    return release(target);
  }
  if (!is_being_deleted(target)) target.metadata()["deletionTimestamp"] = now_;
  updates_[target.key()] = std::move(target);
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
  auto kids = children(owner);
  if (!kids.ok()) return kids.status();
  if (owner.kind() == "Environment") {
    // Removing a kid below finishes this owner again (release): the outer call decides.
    if (!finishing_.insert(owner.key()).second) return Status::Ok();
    struct Done {
      std::set<ObjectKey>& set;
      ObjectKey key;
      ~Done() { set.erase(key); }
    } done{finishing_, owner.key()};
    // As Kubernetes' namespace controller: what came into the namespace after its deletion
    // began goes too, and only objects still held by their own finalizers keep the
    // Environment waiting. Events go last, with the namespace: while it waits they say why
    // (FinalizersPending is recorded once, when the deletion is committed).
    bool waiting = false;
    for (const Object& kid : kids.value()) {
      if (kid.kind() == "Event") continue;
      CENV_RETURN_IF_ERROR(remove(kid, Propagation::kBackground));
      waiting |= !removing(kid.key());
    }
    if (waiting) return Status::Ok();
    for (const Object& kid : kids.value()) {
      if (kid.kind() != "Event") continue;
      CENV_RETURN_IF_ERROR(remove(kid, Propagation::kBackground));
      if (!removing(kid.key())) return Status::Ok();  // an Event held by its own finalizer
    }
  } else if (!kids->empty()) {
    return Status::Ok();
  }
  remove_finalizer(owner, finalizer);
  if (finalizer_count(owner) == 0) {
    mark_removed(owner);
    return release(owner);
  }
  updates_[owner.key()] = std::move(owner);
  return Status::Ok();
}

Status DeletionPlan::release(const Object& gone) {
  // Owners in foreground deletion that waited for this object.
  const json::object* m = gone.metadata_or_null();
  if (m) {
    if (auto it = m->find("ownerReferences"); it != m->end() && it->value().is_array()) {
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
    }
  }
  // The Environment of the namespace, when it waits for its last objects.
  // Its namespace objects are its dependents, so an Environment deleted in the foreground
  // waits for them under both finalizers.
  if (!gone.ns().empty()) {
    ObjectKey env_key{"Environment", "", std::string(gone.ns())};
    for (std::string_view finalizer : {kNamespaceFinalizer, kForegroundFinalizer}) {
      if (removing(env_key)) break;
      auto env = current(env_key);
      if (env.ok()) {
        CENV_RETURN_IF_ERROR(finish(env.value(), finalizer));
      } else if (env.status().code() != Code::kNotFound) {
        return env.status();
      } else {
        break;
      }
    }
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
