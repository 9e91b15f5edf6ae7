#pragma once
// CallGate: admits a gRPC call once its client's image identity matches the controller's
// (DESIGN section 7) and says who makes it: the local admin on the unix socket, or the user
// and groups of the verified client certificate on the TLS port.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/object.h"
#include "api/status.h"

namespace grpc {
class ServerContext;
}

namespace cenv {

// The metadata key that carries the client's image identity on every call.
inline constexpr std::string_view kIdentityMetadataKey = "cenv-identity";

struct CallGateOptions {
  // The identity unix-socket callers must present (the build's alone). Empty: any.
  std::string local_identity;
  // The user unix-socket callers are recorded as (in managedFields and events). The socket
  // is mode 0600, so its only callers are the OS user the controller runs as (and root).
  // Empty (the default): that user's name, from the password database ("uid N" without one).
  std::string local_user;
  // The identity TLS callers must present (the build's with the CA). Required with TLS.
  std::string remote_identity;
  // The caller a verified client certificate (PEM) names; set by the composition root, which
  // knows how to read certificates. Empty: TLS callers are refused.
  std::function<Result<Caller>(std::string_view certificate_pem)> certificate_caller;
  // Whether a remote caller may do an access (Forbidden saying why); set by the composition
  // root (the RoleBinding authorizer). Empty: every caller may do everything. Local callers
  // are never asked: they are the machine owner.
  std::function<Status(const Caller&, const Access&)> authorize;
  // Whether a remote caller may read an object (what list and watch return). Empty: all.
  std::function<bool(const Caller&, const Object&)> may_read;
};

// Immutable once made; admit() is safe to call from several threads at once.
class CallGate {
 public:
  explicit CallGate(CallGateOptions options);

  // The caller of `ctx`: on the unix socket the local owner, named options.local_user; on the
  // TLS port its certificate's user and groups. FailedPrecondition naming both identities when the
  // client's differs from the controller's (a unix-socket client may send none; a TLS client must);
  // Unauthenticated when a TLS caller has no usable certificate.
  Result<Caller> admit(const grpc::ServerContext& ctx) const;
  // admit(), then whether that caller may do `access`: Forbidden (PERMISSION_DENIED) naming
  // the user, the verb and the object when not.
  Result<Caller> admit(const grpc::ServerContext& ctx, const Access& access) const;
  // Whether the admitted `caller` may do `access` (Ok for local callers).
  Status authorize(const Caller& caller, const Access& access) const;
  // Whether `caller` may read `object`.
  bool may_read(const Caller& caller, const Object& object) const;
  // The identity the caller of `ctx` must present (what Hello answers).
  const std::string& identity_for(const grpc::ServerContext& ctx) const;

 private:
  CallGateOptions options_;
};

}  // namespace cenv
