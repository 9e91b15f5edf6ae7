#pragma once
// CallGate: admits a gRPC call once its client's image identity matches the controller's
// (DESIGN section 7) and says who makes it: the local admin on the unix socket, or the user
// and groups of the verified client certificate on the TLS port.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace grpc {
class ServerContext;
}

namespace cenv {

// The metadata key that carries the client's image identity on every call.
inline constexpr std::string_view kIdentityMetadataKey = "cenv-identity";

// Who makes a call.
struct Caller {
  std::string user;                 // the certificate's CN; "local" on the unix socket
  std::vector<std::string> groups;  // the certificate's O values; none on the unix socket
  bool local = false;               // on the unix socket: the machine owner's, admin
};

struct CallGateOptions {
  // The identity unix-socket callers must present (the build's alone). Empty: any.
  std::string local_identity;
  // The identity TLS callers must present (the build's with the CA). Required with TLS.
  std::string remote_identity;
  // The caller a verified client certificate (PEM) names; set by the composition root, which
  // knows how to read certificates. Empty: TLS callers are refused.
  std::function<Result<Caller>(std::string_view certificate_pem)> certificate_caller;
};

// Immutable once made; admit() is safe to call from several threads at once.
class CallGate {
 public:
  explicit CallGate(CallGateOptions options) : options_(std::move(options)) {}

  // The caller of `ctx`. FailedPrecondition naming both identities when the client's differs
  // from the controller's (a unix-socket client may send none; a TLS client must);
  // Unauthenticated when a TLS caller has no usable certificate.
  Result<Caller> admit(const grpc::ServerContext& ctx) const;
  // The identity the caller of `ctx` must present (what Hello answers).
  const std::string& identity_for(const grpc::ServerContext& ctx) const;

 private:
  CallGateOptions options_;
};

}  // namespace cenv
