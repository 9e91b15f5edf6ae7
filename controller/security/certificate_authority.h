#pragma once
// CertificateAuthority: makes the CA of a cenv installation and issues its server and client
// certificates (DESIGN section 7). Keys are EC P-256, signatures ECDSA with SHA-256, serial
// numbers 126 random bits. Only the holder of the CA's private key issues certificates: keep
// ca.key offline, never in an image or the store.

#include <optional>
#include <string>
#include <vector>

#include "api/status.h"
#include "controller/security/certificate.h"

namespace cenv::security {

// When a certificate is valid: from not_before to not_after, both inclusive.
struct Validity {
  TimePoint not_before;
  TimePoint not_after;

  // From five minutes before `now` (for hosts whose clocks differ a little) for `days` days.
  static Validity days_from(TimePoint now, int days);
};

// The longest validity a certificate may be issued for: 100 years.
inline constexpr int kMaxCertificateDays = 36500;

struct CaOptions {
  // The CA certificate's subject CN.
  std::string common_name = "cenv-ca";
  // Days the CA certificate is valid from now; 1 to kMaxCertificateDays.
  int days = 3650;
  // When set, replaces `days` (tests make expired or not yet valid certificates with it).
  std::optional<Validity> validity{};
};

struct ServerCertificateOptions {
  // Host names (DNS SANs) and IP addresses (IP SANs, v4 or v6) clients reach the server by.
  // "localhost" and "127.0.0.1" are always added. "*.example.com" is allowed.
  std::vector<std::string> hosts{};
  // The subject CN.
  std::string common_name = "cenv-server";
  // Days valid from now; 1 to kMaxCertificateDays.
  int days = 365;
  // When set, replaces `days`.
  std::optional<Validity> validity{};
};

struct ClientCertificateOptions {
  // The user: the subject CN. 1 to 64 characters of [A-Za-z0-9._@:-].
  std::string user;
  // The user's groups: one subject O each, in this order; same characters as `user`.
  std::vector<std::string> groups{};
  // Days valid from now; 1 to kMaxCertificateDays.
  int days = 365;
  // When set, replaces `days`.
  std::optional<Validity> validity{};
};

// A certificate with its freshly generated private key.
struct IssuedCertificate {
  Certificate certificate;
  PrivateKey key;
};

// Immutable once made; its const methods are safe to call from several threads at once.
class CertificateAuthority {
 public:
  // Generates a key and a self-signed CA certificate (basicConstraints critical CA:TRUE,
  // pathlen 0; keyUsage keyCertSign, cRLSign). Invalid for bad options; Internal when OpenSSL
  // fails.
  static Result<CertificateAuthority> create(const CaOptions& options);
  // A CA from its certificate and key. Invalid when the certificate is not a CA's or the key
  // is not its key.
  static Result<CertificateAuthority> from(Certificate certificate, PrivateKey key);
  // Reads ca.crt and ca.key style PEM files; errors name the file at fault.
  static Result<CertificateAuthority> load(const std::filesystem::path& certificate_path,
                                           const std::filesystem::path& key_path);

  const Certificate& certificate() const { return certificate_; }
  const PrivateKey& key() const { return key_; }

  // A server certificate (extendedKeyUsage serverAuth) for `options.hosts` plus localhost and
  // 127.0.0.1. Invalid naming the host that is neither a DNS name nor an IP address.
  Result<IssuedCertificate> issue_server(const ServerCertificateOptions& options) const;
  // A client certificate (extendedKeyUsage clientAuth) with CN = user and O = each group.
  // Invalid naming a bad user or group name.
  Result<IssuedCertificate> issue_client(const ClientCertificateOptions& options) const;

 private:
  CertificateAuthority(Certificate certificate, PrivateKey key)
      : certificate_(std::move(certificate)), key_(std::move(key)) {}
  // Takes ownership of `owned_certificate`.
  static IssuedCertificate issued(x509_st* owned_certificate, std::shared_ptr<evp_pkey_st> key);

  Certificate certificate_;
  PrivateKey key_;
};

}  // namespace cenv::security
