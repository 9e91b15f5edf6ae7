#pragma once
// What the controller's gRPC server needs to know about security, from `--certs DIR`
// (certificate_directory.h): the TLS listener's credentials and the call gate's identities.

#include <filesystem>
#include <optional>
#include <string>

#include "api/status.h"
#include "controller/server/grpc_server.h"
#include "controller/store/store.h"

namespace cenv {

// The TLS listener on `listen` ("HOST:PORT") with DIR's ca.crt, server.crt and server.key, and
// a gate expecting this build's identity with DIR's CA from TLS callers and the build's alone
// from local ones. Without `listen`: no listener, the local gate only. Invalid when only one
// of `listen` and `certs_dir` is given; the loaders' errors, naming the file, when a file is
// missing or malformed; Invalid naming the files when server.key is not server.crt's key or
// server.crt is not issued by ca.crt.
struct ServerSecurity {
  std::optional<TlsListenerOptions> tls;
  CallGateOptions gate;
};
Result<ServerSecurity> load_server_security(const std::string& listen,
                                            const std::filesystem::path& certs_dir);

// Sets `gate`'s authorize and may_read to the RoleBinding authorizer (controller/security/
// authorizer.h) over the RoleBindings and ClusterRoleBindings `store` holds, built again only
// when one of them changed (StoredBindings). `store` must outlive the gate. Thread-safe.
void authorize_by_stored_bindings(CallGateOptions& gate, Store& store);

}  // namespace cenv
