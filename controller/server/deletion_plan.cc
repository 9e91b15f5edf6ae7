#include "controller/server/deletion_plan.h"

namespace cenv {

namespace json = boost::json;

namespace {

const json::array* finalizers_of(const Object& o) {
  const json::object* m = o.metadata_or_null();
  if (!m) return nullptr;
  auto it = m->find("finalizers");
  return (it != m->end() && it->value().is_array()) ? &it->value().get_array() : nullptr;
}

bool owned_by(const Object& o, std::string_view uid) {
  const json::object* m = o.metadata_or_null();
  if (!m) return false;
  auto it = m->find("ownerReferences");
  if (it == m->end() || !it->value().is_array()) return false;
  for (const auto& ref : it->value().get_array()) {
    if (ref.is_object() && Object::str_field(ref.get_object(), "uid") == uid) return true;
  }
  return false;
}

}  // namespace

bool has_finalizer_named(const Object& o, std::string_view name) {
  const json::array* f = finalizers_of(o);
  if (!f) return false;
  for (const auto& v : *f) {
    if (v.is_string() && v.get_string() == name) return true;
  }
  return false;
}

void drop_finalizer(Object& o, std::string_view name) {
  json::object& m = o.metadata();
  auto it = m.find("finalizers");
  if (it == m.end() || !it->value().is_array()) return;
  json::array& arr = it->value().get_array();
  for (auto a = arr.begin(); a != arr.end();) {
    a = (a->is_string() && a->get_string() == name) ? arr.erase(a) : a + 1;
  }
  if (arr.empty()) m.erase("finalizers");
}

void add_finalizer_named(Object& o, std::string_view name) {
  if (has_finalizer_named(o, name)) return;
  json::value& f = o.metadata()["finalizers"];
  if (!f.is_array()) f = json::array();
  f.get_array().push_back(json::string(name));
}

size_t finalizer_count(const Object& o) {
  const json::array* f = finalizers_of(o);
  return f ? f->size() : 0;
}

bool is_terminating(const Object& o) {
  const json::object* m = o.metadata_or_null();
  return m && m->contains("deletionTimestamp");
}

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
      if (environment || owned_by(o, owner.uid())) {
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
  if (is_terminating(target) && !has_finalizer_named(target, kForegroundFinalizer) &&
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
    add_finalizer_named(target, kForegroundFinalizer);
  }
  if (waiting && environment) add_finalizer_named(target, kNamespaceFinalizer);
  if (finalizer_count(target) == 0) {
    mark_removed(target);
    return release(target);
  }
  if (!is_terminating(target)) target.metadata()["deletionTimestamp"] = now_;
  updates_[target.key()] = std::move(target);
  return Status::Ok();
}

Result<bool> DeletionPlan::finish_if_released(const Object& updated) {
  if (!is_terminating(updated) || finalizer_count(updated) > 0) return false;
  mark_removed(updated);
  CENV_RETURN_IF_ERROR(release(updated));
  return true;
}

Status DeletionPlan::finish(Object owner, std::string_view finalizer) {
  if (!is_terminating(owner) || !has_finalizer_named(owner, finalizer)) return Status::Ok();
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
    // began (Events recorded about the deletion, say) goes too, and only objects still
    // held by their own finalizers keep the Environment waiting.
    for (const Object& kid : kids.value()) {
      CENV_RETURN_IF_ERROR(remove(kid, Propagation::kBackground));
    }
    for (const Object& kid : kids.value()) {
      if (!removing(kid.key())) return Status::Ok();
    }
  } else if (!kids->empty()) {
    return Status::Ok();
  }
  drop_finalizer(owner, finalizer);
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
    if (is_terminating(obj)) out.push_back(obj);
  }
  return out;
}

}  // namespace cenv
