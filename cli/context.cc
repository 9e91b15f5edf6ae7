#include "cli/context.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>

#include "controller/security/certificate.h"
#include "controller/security/credential_files.h"
#include "controller/security/image_identity.h"

namespace cenv::cli {

namespace {

using security::Certificate;
using security::PrivateKey;

// The environment variable naming the context to use (below --context, above config.yaml).
constexpr const char* kContextVariable = "CENV_CONTEXT";

// The gRPC target of "HOST:PORT": an IP address is dialled as is ("ipv4:", "ipv6:"), without the
// resolver's round of work (a new connection per command makes it count); a name is resolved.
std::string grpc_target(const std::string& server) {
  auto host = server_host(server);
  if (!host.ok()) return server;
  in6_addr address{};
  if (inet_pton(AF_INET, host->c_str(), &address) == 1) return "ipv4:" + server;
  if (inet_pton(AF_INET6, host->c_str(), &address) == 1) return "ipv6:" + server;
  return server;
}

// The client's credentials for `remote`. Only the CA is parsed here (its DER makes the
// identity): the certificate and key are read, and gRPC parses them when it dials; check_remote
// checks them fully. A missing file is named before any connection is tried.
Result<Endpoint> remote_endpoint(const RemoteContext& remote) {
  auto ca = Certificate::load(remote.certificate_authority);
  if (!ca.ok()) return ca.status();
  auto certificate = security::read_credential_file(remote.client_certificate);
  if (!certificate.ok()) return certificate.status();
  auto key = security::read_credential_file(remote.client_key);
  if (!key.ok()) return key.status();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca->pem();
  ssl.pem_cert_chain = std::move(certificate.value());
  ssl.pem_private_key = std::move(key.value());
  return Endpoint{.context = remote.name,
                  .target = grpc_target(remote.server),
                  .server = remote.server,
                  .credentials = grpc::SslCredentials(ssl),
                  .identity = security::ImageIdentity::of_this_build(*ca).digest(),
                  .local = false};
}

// Ok when `remote`'s client certificate and key parse, belong together, and the certificate is
// a client certificate of its CA valid now.
Status check_credentials(const RemoteContext& remote) {
  auto ca = Certificate::load(remote.certificate_authority);
  if (!ca.ok()) return ca.status();
  auto certificate = Certificate::load(remote.client_certificate);
  if (!certificate.ok()) return certificate.status();
  auto key = PrivateKey::load(remote.client_key);
  if (!key.ok()) return key.status();
  if (!key->matches(*certificate)) {
    return Status::Invalid(remote.client_key.string() + " is not the key of " +
                           remote.client_certificate.string());
  }
  Status valid = security::verify_certificate(*certificate, *ca, std::chrono::system_clock::now(),
                                              security::CertificatePurpose::kClient);
  if (!valid.ok()) {
    return Status::Unauthenticated(remote.client_certificate.string() + ": " + valid.message());
  }
  return Status::Ok();
}

// The context --context or $CENV_CONTEXT names; "" when neither does.
std::string named_context(std::string_view flag) {
  if (!flag.empty()) return std::string(flag);
  const char* env = std::getenv(kContextVariable);
  return env ? env : "";
}

}  // namespace

Context Context::local(Home home, bool autostart) {
  Endpoint endpoint{.context = std::string(kLocalContext),
                    .target = "unix:" + home.socket().string(),
                    .server = "",
                    .credentials = grpc::InsecureChannelCredentials(),
                    .identity = security::ImageIdentity::of_this_build().digest(),
                    .local = true};
  return Context(std::move(home), std::move(endpoint), autostart);
}

Context Context::local_from_env() { return local(Home::from_env()); }

Result<Context> Context::remote(Home home, const RemoteContext& remote) {
  auto endpoint = remote_endpoint(remote);
  if (!endpoint.ok()) return endpoint.status().with_prefix("context \"" + remote.name + "\"");
  return Context(std::move(home), std::move(endpoint.value()), /*autostart=*/false);
}

std::string Context::chosen_name(const ContextConfig& config, std::string_view flag) {
  if (std::string named = named_context(flag); !named.empty()) return named;
  if (!config.current_context.empty()) return config.current_context;
  return std::string(kLocalContext);
}

Status Context::check_remote(const RemoteContext& remote) {
  Status s = check_credentials(remote);
  return s.ok() ? s : s.with_prefix("context \"" + remote.name + "\"");
}

Result<Context> Context::resolve(Home home, std::string_view flag) {
  // The local context needs no config: a broken config.yaml never stands in its way.
  if (named_context(flag) == kLocalContext) return local(std::move(home));
  auto config = ContextConfig::load(home.config_file());
  if (!config.ok()) return config.status();
  std::string name = chosen_name(config.value(), flag);
  if (name == kLocalContext) return local(std::move(home));
  const RemoteContext* remote_context = config->find(name);
  if (!remote_context) {
    return Status::NotFound("no context \"" + name + "\" (`cenv context list` shows them)");
  }
  return remote(std::move(home), *remote_context);
}

std::unique_ptr<ControllerClient> Context::connect(ClientOptions options) const {
  options.autostart = options.autostart && autostart_;
  return std::unique_ptr<ControllerClient>(new ControllerClient(home_, endpoint_, options));
}

}  // namespace cenv::cli
