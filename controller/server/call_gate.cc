#include "controller/server/call_gate.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/grpcpp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace cenv {

namespace {

// The value of the first `name` property of `ctx`'s auth context, "" when none.
std::string auth_property(const grpc::ServerContext& ctx, const char* name) {
  auto auth = ctx.auth_context();
  if (!auth) return "";
  auto values = auth->FindPropertyValues(name);
  return values.empty() ? "" : std::string(values.front().data(), values.front().size());
}

bool over_tls(const grpc::ServerContext& ctx) {
  return auth_property(ctx, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME) ==
         GRPC_SSL_TRANSPORT_SECURITY_TYPE;
}

std::string presented_identity(const grpc::ServerContext& ctx) {
  const auto& metadata = ctx.client_metadata();
  auto it =
      metadata.find(grpc::string_ref(kIdentityMetadataKey.data(), kIdentityMetadataKey.size()));
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

std::string short_identity(const std::string& identity) { return identity.substr(0, 12); }

Status identity_mismatch(const std::string& presented, const std::string& expected, bool tls) {
  std::string hint =
      tls ? "use the cenv client of the controller's image with the CA certificate the controller "
            "trusts (`cenv version` shows both identities)"
          : "stop the local controller (`cenv controller stop`) so that this client starts its "
            "own, or use the cenv binary it runs";
  return Status::FailedPrecondition(
      "image identity mismatch: this client is " +
      (presented.empty() ? std::string("(none sent)") : short_identity(presented)) +
      ", the controller is " + short_identity(expected) + "; " + hint);
}

// The name of the OS user this process runs as, "uid N" when the password database has none.
std::string process_user_name() {
  const uid_t uid = geteuid();
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd entry {};
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found &&
      found->pw_name && *found->pw_name) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

}  // namespace

CallGate::CallGate(CallGateOptions options) : options_(std::move(options)) {
  if (options_.local_user.empty()) options_.local_user = process_user_name();
}

const std::string& CallGate::identity_for(const grpc::ServerContext& ctx) const {
  return over_tls(ctx) ? options_.remote_identity : options_.local_identity;
}

Result<Caller> CallGate::admit(const grpc::ServerContext& ctx) const {
  const bool tls = over_tls(ctx);
  const std::string presented = presented_identity(ctx);
  const std::string& expected = identity_for(ctx);
  // A local client may omit its identity (gRPC tools on the owner's socket); one it sends must
  // match, as must every remote client's.
  bool must_present = tls;
  if ((must_present || !presented.empty()) && !expected.empty() && presented != expected) {
    return identity_mismatch(presented, expected, tls);
  }
  if (!tls) {
    if (!ctx.peer().starts_with("unix:")) {
      return Status::Unauthenticated("a TCP caller must present a client certificate");
    }
    return Caller{.user = options_.local_user, .groups = {}, .local = true};
  }
  std::string pem = auth_property(ctx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty() || !options_.certificate_caller) {
    return Status::Unauthenticated("the call carries no verified client certificate");
  }
  return options_.certificate_caller(pem);
}

Result<Caller> CallGate::admit(const grpc::ServerContext& ctx, const Access& access) const {
  auto caller = admit(ctx);
  if (!caller.ok()) return caller;
  if (Status allowed = authorize(*caller, access); !allowed.ok()) return allowed;
  return caller;
}

Status CallGate::authorize(const Caller& caller, const Access& access) const {
  if (caller.local || !options_.authorize) return Status::Ok();
  return options_.authorize(caller, access);
}

bool CallGate::may_read(const Caller& caller, const Object& object) const {
  return caller.local || !options_.may_read || options_.may_read(caller, object);
}

}  // namespace cenv
