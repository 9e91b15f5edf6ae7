#include "controller/app/server_security.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

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

// certificate_caller, remembered per certificate: every call of a connection, and every CLI
// call (one connection each) of the same user, presents the same certificate, and decoding it
// costs more than the rest of a small call. TLS has verified the certificate before; what it
// names does not change. Bounded: forgets everything past kMaxCallers certificates.
class CallerCache {
 public:
  Result<Caller> operator()(std::string_view pem) {
    {
      std::lock_guard lock(mu_);
      if (auto it = callers_.find(pem); it != callers_.end()) return it->second;
    }
    auto caller = certificate_caller(pem);
    if (caller.ok()) {
      std::lock_guard lock(mu_);
      if (callers_.size() >= kMaxCallers) callers_.clear();
      callers_.emplace(std::string(pem), caller.value());
    }
    return caller;
  }

 private:
  static constexpr size_t kMaxCallers = 256;
  std::mutex mu_;
  std::map<std::string, Caller, std::less<>> callers_;  // guarded by mu_
};

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
  out.gate.certificate_caller = [cache = std::make_shared<CallerCache>()](std::string_view pem) {
    return (*cache)(pem);
  };
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
