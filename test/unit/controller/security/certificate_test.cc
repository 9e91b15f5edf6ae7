#include "controller/security/certificate.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "controller/security/certificate_authority.h"
#include "test/temp_dir.h"
#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using testing::contains;
using testing::must;

TEST_CASE("certificates and keys survive a PEM round trip", "[security][pem]") {
  auto ca = must(CertificateAuthority::create({}));
  auto alice = must(ca.issue_client({.user = "alice", .groups = {"dev"}}));
  auto certificate = must(Certificate::from_pem(alice.certificate.pem(), "alice.crt"));
  auto key = must(PrivateKey::from_pem(alice.key.pem(), "alice.key"));
  CHECK(certificate.der() == alice.certificate.der());
  CHECK(key.matches(certificate));
  CHECK(must(certificate.client_identity()) == ClientIdentity{"alice", {"dev"}});
  CHECK(alice.key.pem().starts_with("-----BEGIN PRIVATE KEY-----"));
}

TEST_CASE("malformed PEM is refused naming its source", "[security][pem]") {
  auto ca = must(CertificateAuthority::create({}));
  std::string pem = ca.certificate().pem();
  std::string garbled = pem;
  garbled.insert(pem.size() / 2, "!!");
  struct Row {
    std::string text;
    std::string message;
  };
  std::vector<Row> rows = {
      {"", "ca.crt: not a PEM certificate"},
      {"hello", "ca.crt: not a PEM certificate"},
      {garbled, "ca.crt: malformed PEM certificate"},
      {pem.substr(0, pem.size() / 2), "ca.crt: malformed PEM certificate"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    auto parsed = Certificate::from_pem(row.text, "ca.crt");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Code::kInvalid);
    CHECK(contains(parsed.status().message(), row.message));
  }
  auto key = PrivateKey::from_pem(pem, "ca.key");
  CHECK(contains(key.status().message(), "ca.key: not a PEM private key"));
  auto encrypted = PrivateKey::from_pem(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
      "ca.key");
  CHECK(contains(encrypted.status().message(), "ca.key: the private key is encrypted"));
  auto broken = PrivateKey::from_pem(
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "ca.key");
  CHECK(contains(broken.status().message(), "ca.key: malformed PEM private key"));
}

TEST_CASE("loading certificate files names the file at fault", "[security][pem]") {
  cenv::testing::TempDir dir("cenv-security");
  auto missing = Certificate::load(dir.path() / "ca.crt");
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(contains(missing.status().message(), (dir.path() / "ca.crt").string()));
  std::ofstream(dir.path() / "bad.crt") << "not a certificate\n";
  auto bad = Certificate::load(dir.path() / "bad.crt");
  CHECK(contains(bad.status().message(), (dir.path() / "bad.crt").string() + ": not a PEM"));
  std::ofstream(dir.path() / "big.key") << std::string(70 * 1024, 'x');
  auto big = PrivateKey::load(dir.path() / "big.key");
  CHECK(contains(big.status().message(), "big.key: 71680 bytes, more than"));
}

TEST_CASE("a CA loads from its files and refuses a key that is not its own", "[security][pem]") {
  cenv::testing::TempDir dir("cenv-security");
  auto ca = must(CertificateAuthority::create({}));
  auto other = must(CertificateAuthority::create({}));
  std::ofstream(dir.path() / "ca.crt") << ca.certificate().pem();
  std::ofstream(dir.path() / "ca.key") << ca.key().pem();
  std::ofstream(dir.path() / "other.key") << other.key().pem();
  auto loaded = must(CertificateAuthority::load(dir.path() / "ca.crt", dir.path() / "ca.key"));
  CHECK(loaded.certificate().der() == ca.certificate().der());
  auto mismatched = CertificateAuthority::load(dir.path() / "ca.crt", dir.path() / "other.key");
  CHECK(contains(mismatched.status().message(), "other.key: the private key is not the key"));
}

}  // namespace
}  // namespace cenv::security
