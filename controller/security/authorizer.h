#pragma once
// Authorization of API calls (issue 12 point 5, DESIGN section 7): RoleBindings (one namespace)
// and ClusterRoleBindings (everywhere) grant the built-in roles admin, edit and view to users
// and groups, as Kubernetes' RBAC grants its user-facing ClusterRoles:
//   view   get, list, watch and logs;
//   edit   view, and apply, create, update, patch, delete and run, except on RoleBindings and
//          ClusterRoleBindings (which it may read);
//   admin  every verb, bindings and status included.
// A caller is the user and groups of its client certificate (CN, O values), or the local unix
// socket's caller: the machine owner, who is admin. The group cenv:admins (the admin
// certificate `cenv certs init` writes) is admin everywhere without a binding, as Kubernetes'
// system:masters. Environments are cluster-scoped but are their namespace: a role in namespace
// N applies to Environment N for get, watch, update and patch (edit) and delete (admin);
// creating an Environment, and ClusterRoleBindings, need a cluster-wide role.
// An Authorizer is an immutable snapshot of the bindings; thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "controller/security/certificate.h"

namespace cenv::security {

enum class Role { kNone = 0, kView = 1, kEdit = 2, kAdmin = 3 };
std::string_view role_name(Role role);  // "none", "view", "edit", "admin"

enum class Verb { kGet, kList, kWatch, kLogs, kApply, kCreate, kUpdate, kPatch, kDelete, kRun,
                  kUpdateStatus };
std::string_view verb_name(Verb verb);  // "get", ..., "update-status"

// Who calls.
struct Caller {
  ClientIdentity identity;  // user and groups of the client certificate
  bool local = false;       // the local unix socket's caller: the machine owner, admin
  static Caller local_owner() { return Caller{{}, true}; }
  // "user \"alice\" (groups devs, ops)", or "the local owner".
  std::string describe() const;
};

// What a call does: `verb` on objects of `kind` in `ns` ("" for cluster-scoped kinds, or for a
// namespaced kind across all namespaces) named `name` ("" for list, watch and create).
struct Access {
  Verb verb = Verb::kGet;
  std::string kind;
  bool namespaced = true;  // whether `kind` is namespaced (KindInfo::namespaced)
  std::string ns;
  std::string name;
};

class Authorizer {
 public:
  // Built from the stored RoleBinding and ClusterRoleBinding objects (other kinds are
  // ignored); a binding whose spec does not parse grants nothing.
  static Authorizer from_bindings(const std::vector<Object>& bindings);

  // The strongest role `caller` holds in namespace `ns` (cluster-wide roles included), or
  // cluster-wide only when `ns` is empty.
  Role role_in(const Caller& caller, std::string_view ns) const;
  // Ok when `caller` may do `access`; Forbidden naming the user, the verb, the object and the
  // role it holds and needs. A namespaced kind across all namespaces (list, watch) is allowed
  // to everyone: what it returns is filtered with may_read().
  Status check(const Caller& caller, const Access& access) const;
  // Whether `caller` may read `object` (list and watch results, events).
  bool may_read(const Caller& caller, const Object& object) const;

 private:
  struct Grant {
    std::string ns;  // "" for a ClusterRoleBinding
    Role role = Role::kNone;
  };
  // Subject ("User:alice", "Group:devs") -> the grants naming it.
  std::map<std::string, std::vector<Grant>, std::less<>> grants_;
};

}  // namespace cenv::security
