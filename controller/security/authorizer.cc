#include "controller/security/authorizer.h"

#include <algorithm>

#include "api/display_text.h"
#include "api/json_fields.h"
#include "controller/security/certificate_directory.h"

namespace cenv::security {

namespace json = boost::json;

namespace {

Role parse_role(std::string_view text) {
  if (text == "admin") return Role::kAdmin;
  if (text == "edit") return Role::kEdit;
  if (text == "view") return Role::kView;
  return Role::kNone;
}

bool is_binding_kind(std::string_view kind) {
  return kind == "RoleBinding" || kind == "ClusterRoleBinding";
}

// The role `access` needs, and the namespace whose role counts ("" for cluster-wide only).
struct Need {
  Role role = Role::kAdmin;
  std::string ns;
};

Need need_for(const Access& a) {
  if (a.verb == Verb::kUpdateStatus) return {Role::kAdmin, a.ns};
  if (a.namespaced) {
    if (is_read(a.verb)) return {Role::kView, a.ns};
    return {is_binding_kind(a.kind) ? Role::kAdmin : Role::kEdit, a.ns};
  }
  if (a.kind == "Environment" && !a.name.empty()) {
    // An Environment is its namespace: that namespace's roles apply to it.
    if (is_read(a.verb)) return {Role::kView, a.name};
    if (a.verb == Verb::kDelete) return {Role::kAdmin, a.name};
    if (a.verb != Verb::kCreate) return {Role::kEdit, a.name};
  }
  if (is_read(a.verb)) return {Role::kView, ""};
  return {is_binding_kind(a.kind) ? Role::kAdmin : Role::kEdit, ""};
}

std::string object_text(const Access& a) {
  std::string kind = a.kind;
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string out = a.name.empty() ? kind + "s" : kind + "/" + escape_for_display(a.name);
  if (a.namespaced && !a.ns.empty()) out += " in namespace \"" + escape_for_display(a.ns) + "\"";
  return out;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kView:
      return "view";
    case Role::kEdit:
      return "edit";
    case Role::kAdmin:
      return "admin";
  }
  return "none";
}

Authorizer Authorizer::from_bindings(const std::vector<Object>& bindings) {
  Authorizer a;
  for (const Object& b : bindings) {
    if (!is_binding_kind(b.kind())) continue;
    const json::object* spec = b.spec_or_null();
    Role role = parse_role(string_field(spec, "role"));
    const json::array* subjects = array_field(spec, "subjects");
    if (role == Role::kNone || !subjects) continue;
    Grant grant{b.kind() == "RoleBinding" ? std::string(b.ns()) : std::string(), role};
    if (b.kind() == "RoleBinding" && grant.ns.empty()) continue;  // never cluster-wide
    for (const json::value& s : *subjects) {
      const json::object* subject = s.if_object();
      if (!subject) continue;
      std::string_view kind = string_field(*subject, "kind");
      std::string_view name = string_field(*subject, "name");
      if ((kind != "User" && kind != "Group") || name.empty()) continue;
      a.grants_[std::string(kind) + ":" + std::string(name)].push_back(grant);
    }
  }
  return a;
}

Role Authorizer::role_in(const Caller& caller, std::string_view ns) const {
  if (caller.local) return Role::kAdmin;
  const auto& groups = caller.groups;
  if (std::find(groups.begin(), groups.end(), kAdminGroup) != groups.end()) return Role::kAdmin;
  Role best = Role::kNone;
  auto consider = [&](const std::string& subject) {
    auto it = grants_.find(subject);
    if (it == grants_.end()) return;
    for (const Grant& g : it->second) {
      if (g.ns.empty() || (!ns.empty() && g.ns == ns)) best = std::max(best, g.role);
    }
  };
  if (!caller.user.empty()) consider("User:" + caller.user);
  for (const std::string& g : groups) consider("Group:" + g);
  return best;
}

Status Authorizer::check(const Caller& caller, const Access& access) const {
  // Across namespaces: allowed, and the results filtered by may_read().
  if (access.namespaced && access.ns.empty() && is_read(access.verb)) return Status::Ok();
  const Need need = need_for(access);
  const Role held = role_in(caller, need.ns);
  if (held >= need.role) return Status::Ok();
  std::string where =
      need.ns.empty() ? "cluster-wide" : "in namespace \"" + escape_for_display(need.ns) + "\"";
  return Status::Forbidden(
      caller.describe() + " cannot " + std::string(verb_name(access.verb)) + " " +
      object_text(access) + ": that needs role " + std::string(role_name(need.role)) + " " + where +
      ", and it has " +
      (held == Role::kNone ? std::string("no role") : "role " + std::string(role_name(held))) +
      " there (a RoleBinding or ClusterRoleBinding grants roles)");
}

bool Authorizer::may_read(const Caller& caller, const Object& object) const {
  Access access{Verb::kGet, std::string(object.kind()), !object.ns().empty(),
                std::string(object.ns()), std::string(object.name())};
  return check(caller, access).ok();
}

}  // namespace cenv::security
