#include "controller/security/certificate.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <cctype>
#include <ctime>

#include "api/clock.h"
#include "controller/security/credential_files.h"
#include "controller/security/openssl_handles.h"

namespace cenv::security {

namespace {

constexpr std::string_view kCertificateBegin = "-----BEGIN CERTIFICATE-----";

std::string asn1_text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) {
    openssl_errors();
    return {};
  }
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return text;
}

// Every value of attribute `nid` in `name`, in order.
std::vector<std::string> name_entries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    values.push_back(asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))));
  }
  return values;
}

std::string first_cn(const X509_NAME* name) {
  auto cns = name_entries(name, NID_commonName);
  return cns.empty() ? std::string() : cns.front();
}

TimePoint asn1_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return TimePoint{};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
  if (family < 0 || inet_ntop(family, data, buf.data(), buf.size()) == nullptr) return "?";
  return buf.data();
}

// The subjectAltName entries of type `type` (GEN_DNS or GEN_IPADD) as text.
std::vector<std::string> alt_names(X509* x509, int type) {
  std::vector<std::string> names;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type != type) continue;
    names.push_back(type == GEN_DNS ? asn1_text(name->d.dNSName) : ip_text(name->d.iPAddress));
  }
  return names;
}

int refuse_passphrase(char*, int, int, void*) { return 0; }

// T::from_pem of the file at `path`, the file named in every error.
template <typename T>
Result<T> load_pem_file(const std::filesystem::path& path) {
  auto text = read_credential_file(path);
  if (!text.ok()) return text.status();
  return T::from_pem(*text, path.string());
}

std::string describe(const Certificate& c, bool is_ca_role) {
  std::string cn = c.common_name();
  return std::string(is_ca_role ? "CA certificate" : "certificate") +
         (cn.empty() ? "" : " CN=" + cn);
}

std::string purpose_name(CertificatePurpose purpose) {
  return purpose == CertificatePurpose::kServer ? "a server" : "a client";
}

}  // namespace

Result<Certificate> Certificate::from_pem(std::string_view pem, const std::string& source) {
  if (pem.find(kCertificateBegin) == std::string_view::npos) {
    return Status::Invalid(source + ": not a PEM certificate (no \"" +
                           std::string(kCertificateBegin) + "\" line)");
  }
  BioPtr bio = memory_bio(pem);
  X509* x509 = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (x509 == nullptr) {
    return Status::Invalid(source + ": malformed PEM certificate (" + openssl_errors() + ")");
  }
  return Certificate(std::shared_ptr<x509_st>(x509, X509_free));
}

Result<Certificate> Certificate::load(const std::filesystem::path& path) {
  return load_pem_file<Certificate>(path);
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), native());
  return bio_contents(bio.get());
}

std::string Certificate::der() const {
  int len = i2d_X509(native(), nullptr);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509(native(), &p);
  return out;
}

std::string Certificate::common_name() const { return first_cn(X509_get_subject_name(native())); }

std::vector<std::string> Certificate::organizations() const {
  return name_entries(X509_get_subject_name(native()), NID_organizationName);
}

std::string Certificate::issuer_common_name() const {
  return first_cn(X509_get_issuer_name(native()));
}

std::vector<std::string> Certificate::dns_names() const { return alt_names(native(), GEN_DNS); }

std::vector<std::string> Certificate::ip_addresses() const {
  return alt_names(native(), GEN_IPADD);
}

std::string Certificate::serial_hex() const {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(native()), nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string text(hex);
  OPENSSL_free(hex);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

TimePoint Certificate::not_before() const { return asn1_time_point(X509_get0_notBefore(native())); }

TimePoint Certificate::not_after() const { return asn1_time_point(X509_get0_notAfter(native())); }

bool Certificate::is_ca() const { return (X509_get_extension_flags(native()) & EXFLAG_CA) != 0; }

Result<ClientIdentity> Certificate::client_identity() const {
  ClientIdentity identity{common_name(), organizations()};
  if (identity.user.empty()) {
    return Status::Unauthenticated("client certificate has no CN (the user name)");
  }
  return identity;
}

Status Certificate::check_host(std::string_view host) const {
  std::string h(host);
  std::array<unsigned char, 16> addr{};
  bool is_ip = inet_pton(AF_INET, h.c_str(), addr.data()) == 1 ||
               inet_pton(AF_INET6, h.c_str(), addr.data()) == 1;
  int ok = is_ip ? X509_check_ip_asc(native(), h.c_str(), 0)
                 : X509_check_host(native(), h.data(), h.size(), 0, nullptr);
  if (ok == 1) return Status::Ok();
  openssl_errors();
  std::string names;
  for (const auto& n : dns_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& n : ip_addresses()) names += (names.empty() ? "" : ", ") + n;
  return Status::Unauthenticated(describe(*this, false) + " is not valid for host " + h +
                                 " (it names " + (names.empty() ? "no host" : names) + ")");
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem, const std::string& source) {
  if (pem.find("-----BEGIN ") == std::string_view::npos ||
      pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    return Status::Invalid(source +
                           ": not a PEM private key (no \"-----BEGIN ... PRIVATE "
                           "KEY-----\" line)");
  }
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Status::Invalid(source + ": the private key is encrypted; cenv needs it unencrypted");
  }
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* key =
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr) : nullptr;
  if (key == nullptr) {
    return Status::Invalid(source + ": malformed PEM private key (" + openssl_errors() + ")");
  }
  return PrivateKey(std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free));
}

Result<PrivateKey> PrivateKey::load(const std::filesystem::path& path) {
  return load_pem_file<PrivateKey>(path);
}

std::string PrivateKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), native(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_contents(bio.get());
}

bool PrivateKey::matches(const Certificate& certificate) const {
  const EVP_PKEY* public_key = X509_get0_pubkey(certificate.native());
  bool same = public_key != nullptr && EVP_PKEY_eq(public_key, native()) == 1;
  openssl_errors();
  return same;
}

namespace {

// The message for a failed X509_verify_cert on `certificate` against `ca`.
std::string verify_failure(X509_STORE_CTX* ctx, const Certificate& certificate,
                           const Certificate& ca, CertificatePurpose purpose) {
  int err = X509_STORE_CTX_get_error(ctx);
  bool at_ca = X509_STORE_CTX_get_error_depth(ctx) > 0;
  const Certificate& which = at_ca ? ca : certificate;
  std::string who = describe(which, at_ca);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return who + " expired at " + format_rfc3339(which.not_after());
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return who + " is not valid before " + format_rfc3339(which.not_before());
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return describe(certificate, false) + " is not issued by the CA CN=" + ca.common_name() +
             " (its issuer is CN=" + certificate.issuer_common_name() + ", another CA)";
    case X509_V_ERR_INVALID_PURPOSE:
      return who + " is not meant for " + purpose_name(purpose) + " (extendedKeyUsage)";
    default:
      return who + " does not verify: " + X509_verify_cert_error_string(err);
  }
}

}  // namespace

Status verify_certificate(const Certificate& certificate, const Certificate& ca, TimePoint now,
                          CertificatePurpose purpose) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.native()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), certificate.native(), nullptr) != 1) {
    return Status::Internal("cannot set up certificate verification: " + openssl_errors());
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(now));
  if (purpose != CertificatePurpose::kAny) {
    X509_STORE_CTX_set_purpose(ctx.get(), purpose == CertificatePurpose::kServer
                                              ? X509_PURPOSE_SSL_SERVER
                                              : X509_PURPOSE_SSL_CLIENT);
  }
  int ok = X509_verify_cert(ctx.get());
  openssl_errors();
  if (ok == 1) return Status::Ok();
  return Status::Unauthenticated(verify_failure(ctx.get(), certificate, ca, purpose));
}

}  // namespace cenv::security
