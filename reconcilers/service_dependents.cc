#include "reconcilers/service_dependents.h"

#include "api/json_fields.h"

namespace cenv {

std::vector<std::string> service_depends_on(const Object& svc) {
  return string_list_field(svc.spec_or_null(), "dependsOn");
}

std::vector<Request> DependentsIndex::update_and_find(const Object& svc) {
  std::string uid(svc.uid()), ns(svc.ns()), name(svc.name());
  ObjectPtr live = services_.get(ns, name);
  std::lock_guard lock(mu_);
  if (auto it = edges_.find(uid); it != edges_.end()) {
    for (const std::string& d : it->second.deps) dependents_[{ns, d}].erase(name);
    edges_.erase(it);
  }
  if (live && live->uid() == svc.uid()) {
    Edges e{service_depends_on(*live)};
    for (const std::string& d : e.deps) dependents_[{ns, d}].insert(name);
    edges_[uid] = std::move(e);
  }
  std::vector<Request> out;
  if (auto it = dependents_.find({ns, name}); it != dependents_.end()) {
    for (const std::string& n : it->second) out.push_back({"Service", ns, n});
    if (it->second.empty()) dependents_.erase(it);
  }
  return out;
}

}  // namespace cenv
