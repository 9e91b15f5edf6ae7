#include "controller/security/certificate_authority.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <utility>

#include "controller/security/openssl_handles.h"

namespace cenv::security {

namespace {

constexpr auto kClockSkew = std::chrono::minutes(5);
constexpr size_t kMaxSubjectNameChars = 64;  // the X.509 upper bound of CN and O
constexpr size_t kMaxDnsNameChars = 253;
constexpr size_t kSerialBytes = 16;

// What one certificate says, apart from its key and issuer.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> organizations;
  Validity validity;
  std::vector<std::pair<int, const char*>> extensions;  // NID, OpenSSL config value
  std::vector<std::string> hosts;                       // subjectAltName; empty: none
};

Result<Validity> resolve_validity(int days, const std::optional<Validity>& explicit_validity) {
  if (explicit_validity) {
    if (explicit_validity->not_after <= explicit_validity->not_before) {
      return Status::Invalid("certificate validity: notAfter must be after notBefore");
    }
    return *explicit_validity;
  }
  if (days < 1 || days > kMaxCertificateDays) {
    return Status::Invalid("days: must be between 1 and " + std::to_string(kMaxCertificateDays) +
                           ", not " + std::to_string(days));
  }
  return Validity::days_from(std::chrono::system_clock::now(), days);
}

bool is_ip_address(const std::string& host) {
  std::array<unsigned char, 16> addr{};
  return inet_pton(AF_INET, host.c_str(), addr.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr.data()) == 1;
}

// A DNS name of letters, digits and hyphens in dot-separated labels; "*." may start it.
bool is_dns_name(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty() || host.size() > kMaxDnsNameChars) return false;
  size_t label = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char c = host[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  return true;
}

Status check_name(const std::string& field, const std::string& value) {
  if (value.empty() || value.size() > kMaxSubjectNameChars) {
    return Status::Invalid(field + " \"" + value + "\": must have 1 to 64 characters");
  }
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == ':' || c == '-';
  };
  if (!std::all_of(value.begin(), value.end(), allowed)) {
    return Status::Invalid(field + " \"" + value +
                           "\": may hold only letters, digits and . _ @ : -");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> server_hosts(const std::vector<std::string>& requested) {
  std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
  for (const auto& host : requested) {
    if (!is_ip_address(host) && !is_dns_name(host)) {
      return Status::Invalid("host \"" + host + "\": neither a DNS name nor an IP address");
    }
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
  }
  return hosts;
}

Result<std::shared_ptr<evp_pkey_st>> generate_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return Status::Internal("cannot generate an EC key: " + openssl_errors());
  return std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free);
}

bool set_random_serial(X509* x509) {
  std::array<unsigned char, kSerialBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return false;
  // Positive (top bit clear) and of full length (next bit set), as RFC 5280 wants.
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  BignumPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x509)) != nullptr;
}

bool set_validity(X509* x509, const Validity& validity) {
  using std::chrono::system_clock;
  return ASN1_TIME_set(X509_getm_notBefore(x509), system_clock::to_time_t(validity.not_before)) &&
         ASN1_TIME_set(X509_getm_notAfter(x509), system_clock::to_time_t(validity.not_after));
}

bool set_subject(X509* x509, const CertificateSpec& spec) {
  X509_NAME* name = X509_get_subject_name(x509);
  auto add = [name](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
  };
  for (const auto& org : spec.organizations) {
    if (!add("O", org)) return false;
  }
  return add("CN", spec.common_name);
}

bool add_alt_names(X509* x509, const std::vector<std::string>& hosts) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  for (const auto& host : hosts) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr || !sk_GENERAL_NAME_push(names.get(), name)) {
      GENERAL_NAME_free(name);
      return false;
    }
    if (is_ip_address(host)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
      if (ip == nullptr) return false;
      GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr) return false;
      GENERAL_NAME_set0_value(name, GEN_DNS, dns);
      if (ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) return false;
    }
  }
  return X509_add1_ext_i2d(x509, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

bool add_extensions(X509* x509, X509* issuer, const CertificateSpec& spec) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x509, nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(x509, ext.get(), -1) != 1) return false;
  }
  return spec.hosts.empty() || add_alt_names(x509, spec.hosts);
}

// Builds and signs a certificate for `subject_key`; `issuer` null means self-signed.
Result<X509Ptr> sign_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  X509Ptr x509(X509_new());
  bool ok = x509 && X509_set_version(x509.get(), X509_VERSION_3) && set_random_serial(x509.get()) &&
            set_validity(x509.get(), spec.validity) && set_subject(x509.get(), spec) &&
            X509_set_pubkey(x509.get(), subject_key);
  X509* issuer_cert = issuer != nullptr ? issuer : x509.get();
  ok = ok && X509_set_issuer_name(x509.get(), X509_get_subject_name(issuer_cert)) &&
       add_extensions(x509.get(), issuer_cert, spec) &&
       X509_sign(x509.get(), issuer_key, EVP_sha256()) > 0;
  if (!ok) {
    return Status::Internal("cannot make the certificate for CN=" + spec.common_name + ": " +
                            openssl_errors());
  }
  return x509;
}

std::vector<std::pair<int, const char*>> leaf_extensions(const char* extended_usage) {
  return {{NID_basic_constraints, "critical,CA:FALSE"},
          {NID_key_usage, "critical,digitalSignature"},
          {NID_ext_key_usage, extended_usage},
          {NID_subject_key_identifier, "hash"},
          {NID_authority_key_identifier, "keyid:always"}};
}

// Generates a key and a certificate for it, signed by `issuer` (null: self-signed).
Result<std::pair<X509Ptr, std::shared_ptr<evp_pkey_st>>> issue(const CertificateSpec& spec,
                                                               X509* issuer, EVP_PKEY* issuer_key) {
  auto key = generate_key();
  if (!key.ok()) return key.status();
  auto x509 = sign_certificate(spec, key->get(), issuer, issuer ? issuer_key : key->get());
  if (!x509.ok()) return x509.status();
  return std::pair{std::move(*x509), std::move(*key)};
}

}  // namespace

Validity Validity::days_from(TimePoint now, int days) {
  return {now - kClockSkew, now + std::chrono::hours(24) * days};
}

Result<CertificateAuthority> CertificateAuthority::create(const CaOptions& options) {
  CENV_RETURN_IF_ERROR(check_name("CA common name", options.common_name));
  auto validity = resolve_validity(options.days, options.validity);
  if (!validity.ok()) return validity.status();
  CertificateSpec spec{options.common_name,
                       {},
                       *validity,
                       {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                        {NID_key_usage, "critical,keyCertSign,cRLSign"},
                        {NID_subject_key_identifier, "hash"},
                        {NID_authority_key_identifier, "keyid:always"}},
                       {}};
  auto made = issue(spec, nullptr, nullptr);
  if (!made.ok()) return made.status();
  auto [certificate, key] = issued(made->first.release(), std::move(made->second));
  return CertificateAuthority(std::move(certificate), std::move(key));
}

Result<CertificateAuthority> CertificateAuthority::from(Certificate certificate, PrivateKey key) {
  if (!certificate.is_ca()) {
    return Status::Invalid("certificate CN=" + certificate.common_name() +
                           " is not a CA certificate (basicConstraints CA:TRUE missing)");
  }
  if (!key.matches(certificate)) {
    return Status::Invalid("the private key is not the key of the CA certificate CN=" +
                           certificate.common_name());
  }
  return CertificateAuthority(std::move(certificate), std::move(key));
}

Result<CertificateAuthority> CertificateAuthority::load(
    const std::filesystem::path& certificate_path, const std::filesystem::path& key_path) {
  auto certificate = Certificate::load(certificate_path);
  if (!certificate.ok()) return certificate.status();
  auto key = PrivateKey::load(key_path);
  if (!key.ok()) return key.status();
  auto ca = from(*certificate, *key);
  if (!ca.ok()) {
    return ca.status().with_prefix(certificate_path.string() + ", " + key_path.string());
  }
  return ca;
}

IssuedCertificate CertificateAuthority::issued(x509_st* owned_certificate,
                                               std::shared_ptr<evp_pkey_st> key) {
  return {Certificate(std::shared_ptr<x509_st>(owned_certificate, X509_free)),
          PrivateKey(std::move(key))};
}

Result<IssuedCertificate> CertificateAuthority::issue_server(
    const ServerCertificateOptions& options) const {
  CENV_RETURN_IF_ERROR(check_name("server common name", options.common_name));
  auto hosts = server_hosts(options.hosts);
  if (!hosts.ok()) return hosts.status();
  auto validity = resolve_validity(options.days, options.validity);
  if (!validity.ok()) return validity.status();
  CertificateSpec spec{options.common_name, {}, *validity, leaf_extensions("serverAuth"), *hosts};
  auto made = issue(spec, certificate_.native(), key_.native());
  if (!made.ok()) return made.status();
  return issued(made->first.release(), std::move(made->second));
}

Result<IssuedCertificate> CertificateAuthority::issue_client(
    const ClientCertificateOptions& options) const {
  CENV_RETURN_IF_ERROR(check_name("user", options.user));
  // "system:..." names cenv's own writers (system:cenv-controller in managedFields and
  // events): a person's certificate must not look like one.
  if (options.user.starts_with("system:")) {
    return Status::Invalid("user \"" + options.user +
                           "\": names starting with \"system:\" are reserved for cenv itself");
  }
  for (const auto& group : options.groups) CENV_RETURN_IF_ERROR(check_name("group", group));
  auto validity = resolve_validity(options.days, options.validity);
  if (!validity.ok()) return validity.status();
  CertificateSpec spec{options.user, options.groups, *validity, leaf_extensions("clientAuth"), {}};
  auto made = issue(spec, certificate_.native(), key_.native());
  if (!made.ok()) return made.status();
  return issued(made->first.release(), std::move(made->second));
}

}  // namespace cenv::security
