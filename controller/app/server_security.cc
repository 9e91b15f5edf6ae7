#include "controller/app/server_security.h"

#include <chrono>
#include <memory>

#include "controller/app/stored_bindings.h"
#include "controller/security/certificate.h"
#include "controller/security/certificate_directory.h"
#include "controller/security/image_identity.h"

namespace cenv {

namespace {

using security::Certificate;
using security::CertificateDirectory;
using security::PrivateKey;

// The caller a verified client certificate names: CN the user, O the groups.
Result<Caller> certificate_caller(std::string_view pem) {
  auto certificate = Certificate::from_pem(pem, "the client certificate");
  if (!certificate.ok()) return Status::Unauthenticated(certificate.status().message());
  auto client = certificate->client_identity();
  if (!client.ok()) return client.status();
  return Caller{.user = client->user, .groups = client->groups, .local = false};
}

Result<TlsListenerOptions> load_listener(const std::string& listen, const CertificateDirectory& dir,
                                         const Certificate& ca) {
  auto certificate = Certificate::load(dir.server_certificate());
  if (!certificate.ok()) return certificate.status();
  auto key = PrivateKey::load(dir.server_key());
  if (!key.ok()) return key.status();
  if (!key->matches(*certificate)) {
    return Status::Invalid(dir.server_key().string() + " is not the key of " +
                           dir.server_certificate().string());
  }
  Status issued = security::verify_certificate(*certificate, ca, std::chrono::system_clock::now(),
                                               security::CertificatePurpose::kServer);
  if (!issued.ok()) {
    return Status::Invalid(dir.server_certificate().string() + ": " + issued.message());
  }
  return TlsListenerOptions{.address = listen,
                            .ca_pem = ca.pem(),
                            .certificate_pem = certificate->pem(),
                            .key_pem = key->pem()};
}

}  // namespace

Result<ServerSecurity> load_server_security(const std::string& listen,
                                            const std::filesystem::path& certs_dir) {
  ServerSecurity out;
  out.gate.local_identity = security::ImageIdentity::of_this_build().digest();
  if (listen.empty() && certs_dir.empty()) return out;
  if (listen.empty()) return Status::Invalid("--certs needs --listen HOST:PORT");
  if (certs_dir.empty()) return Status::Invalid("--listen needs --certs DIR (cenv certs init)");
  CertificateDirectory dir{certs_dir};
  auto ca = Certificate::load(dir.ca_certificate());
  if (!ca.ok()) return ca.status();
  auto listener = load_listener(listen, dir, *ca);
  if (!listener.ok()) return listener.status();
  out.tls = std::move(listener.value());
  out.gate.remote_identity = security::ImageIdentity::of_this_build(*ca).digest();
  out.gate.certificate_caller = certificate_caller;
  return out;
}

void authorize_by_stored_bindings(CallGateOptions& gate, Store& store) {
  auto bindings = std::make_shared<StoredBindings>(store);
  gate.authorize = [bindings](const Caller& caller, const Access& access) {
    return bindings->current()->check(caller, access);
  };
  gate.may_read = [bindings](const Caller& caller, const Object& object) {
    return bindings->current()->may_read(caller, object);
  };
}

}  // namespace cenv
