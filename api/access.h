#pragma once
// Who calls the API and what a call does, for authorization (DESIGN section 7): the server
// says who (CallGate) and what (Access); the RoleBinding authorizer (controller/security)
// decides. Plain values; thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace cenv {

// Who makes a call.
struct Caller {
  std::string user;                 // the client certificate's CN; "local" on the unix socket
  std::vector<std::string> groups;  // the certificate's O values; none on the unix socket
  bool local = false;               // on the unix socket: the machine owner's, admin
  // "user \"alice\" (groups devs, ops)", or "the local owner".
  std::string describe() const;
};

enum class Verb {
  kGet,
  kList,
  kWatch,
  kLogs,
  kApply,
  kCreate,
  kUpdate,
  kPatch,
  kDelete,
  kRun,
  kUpdateStatus
};
// What a refusal says the caller cannot do: "get", ..., "read the logs of".
std::string_view verb_name(Verb verb);
// Whether `verb` only reads.
bool is_read(Verb verb);

// What a call does: `verb` on objects of `kind` in `ns` ("" for cluster-scoped kinds, or for
// a namespaced kind across all namespaces) named `name` ("" for list, watch and create).
struct Access {
  Verb verb = Verb::kGet;
  std::string kind;
  bool namespaced = true;  // whether `kind` is namespaced (KindInfo::namespaced)
  std::string ns;
  std::string name;
};

}  // namespace cenv
