#pragma once
// X.509 certificates and private keys as values: parse and write PEM, read the names a
// certificate carries, check that a key belongs to a certificate and that a certificate chains
// to a CA and is valid now. No OpenSSL type appears here; certificate_authority.h makes them.
//
// Certificate and PrivateKey are immutable once made: copies share the underlying object and
// every const method is safe to call from several threads at once.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

struct evp_pkey_st;
struct x509_st;

namespace cenv::security {

using TimePoint = std::chrono::system_clock::time_point;

// Who a client certificate names: CN is the user, each O value a group (DESIGN section 7).
struct ClientIdentity {
  std::string user;
  std::vector<std::string> groups;
  bool operator==(const ClientIdentity&) const = default;
};

// What a certificate is verified for: its extendedKeyUsage must allow it.
enum class CertificatePurpose { kAny, kServer, kClient };

class Certificate {
 public:
  // Parses the first PEM certificate in `pem`. Invalid naming `source` (a file name, or what
  // the text is) when there is none or it is malformed.
  static Result<Certificate> from_pem(std::string_view pem, const std::string& source);
  // Reads and parses a PEM certificate file; NotFound/Invalid/Unavailable name the file.
  static Result<Certificate> load(const std::filesystem::path& path);

  // The certificate as PEM text ("-----BEGIN CERTIFICATE-----...").
  std::string pem() const;
  // The certificate's DER encoding (what image identities and fingerprints hash).
  std::string der() const;

  // The subject's CN ("" if none) and O values, in the order they appear.
  std::string common_name() const;
  std::vector<std::string> organizations() const;
  // The issuer's CN ("" if none).
  std::string issuer_common_name() const;
  // The subjectAltName entries: DNS names, and IP addresses as text ("127.0.0.1", "::1").
  std::vector<std::string> dns_names() const;
  std::vector<std::string> ip_addresses() const;
  // Serial number in lower-case hex.
  std::string serial_hex() const;
  TimePoint not_before() const;
  TimePoint not_after() const;
  // Whether basicConstraints says CA:TRUE.
  bool is_ca() const;

  // The user and groups of a client certificate. Unauthenticated when it has no CN.
  Result<ClientIdentity> client_identity() const;

  // Ok when the certificate names `host` (a DNS name or an IP address) in its subjectAltName;
  // Unauthenticated naming the host and the names it does carry otherwise.
  Status check_host(std::string_view host) const;

 private:
  friend class CertificateAuthority;
  friend class PrivateKey;
  friend Status verify_certificate(const Certificate&, const Certificate&, TimePoint,
                                   CertificatePurpose);
  explicit Certificate(std::shared_ptr<x509_st> x509) : x509_(std::move(x509)) {}
  x509_st* native() const { return x509_.get(); }

  std::shared_ptr<x509_st> x509_;
};

class PrivateKey {
 public:
  // Parses an unencrypted PEM private key (PKCS#8 or traditional). Invalid naming `source`
  // when it is malformed or encrypted (cenv never prompts for a passphrase).
  static Result<PrivateKey> from_pem(std::string_view pem, const std::string& source);
  // Reads and parses a PEM key file; NotFound/Invalid/Unavailable name the file.
  static Result<PrivateKey> load(const std::filesystem::path& path);

  // The key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----..."): keep it 0600.
  std::string pem() const;

  // Whether this is the private key of `certificate`'s public key.
  bool matches(const Certificate& certificate) const;

 private:
  friend class CertificateAuthority;
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  evp_pkey_st* native() const { return key_.get(); }

  std::shared_ptr<evp_pkey_st> key_;
};

// Ok when `certificate` is signed by `ca`, and both are within their validity period at `now`,
// and its key usage allows `purpose`. Otherwise Unauthenticated with a message naming the
// certificate (its CN) and which check failed: "expired at ...", "not valid before ...",
// "not issued by the CA ...", or the verifier's reason. Thread-safe.
Status verify_certificate(const Certificate& certificate, const Certificate& ca, TimePoint now,
                          CertificatePurpose purpose = CertificatePurpose::kAny);

}  // namespace cenv::security
