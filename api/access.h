#pragma once
// Who calls the API and what a call does, for authorization (DESIGN section 7): the server
// says who (CallGate) and what (Access); the RoleBinding authorizer (controller/security)
// decides. Plain values; thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace cenv {

// The user the controller's own writes (its reconcilers, the event recorder, namespace
// deletion) are recorded under.
inline constexpr std::string_view kControllerUser = "system:cenv-controller";

// Who makes a call, or a write.
struct Caller {
  // The client certificate's CN; on the unix socket the OS user the socket admits (the
  // controller's own: the socket is mode 0600); kControllerUser for the controller itself.
  std::string user;
  std::vector<std::string> groups;  // the certificate's O values; none on the unix socket
  bool local = false;               // on the unix socket: the machine owner's, admin
  // The controller's own write, made in process: never authorized (no call is made), and not
  // reported as a user's write. Only Caller::controller() sets it; no certificate can.
  bool system = false;

  // The controller itself: user kControllerUser, system.
  static Caller controller();
  // "user \"alice\" (groups devs, ops)", or "the local owner", for refusals.
  std::string describe() const;
  // Who wrote, as events and messages say it: "alice (groups: devs, ops)", "fred (the local
  // owner)", "system:cenv-controller". Control characters escaped.
  std::string attribution() const;
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
