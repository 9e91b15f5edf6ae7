#include "controller/security/certificate_authority.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using std::chrono::hours;
using testing::contains;
using testing::must;
using testing::validity_ending_in;

TimePoint now() { return std::chrono::system_clock::now(); }

TEST_CASE("a CA is a self-signed CA certificate whose key matches it", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({.common_name = "acme-ca"}));
  CHECK(ca.certificate().is_ca());
  CHECK(ca.certificate().common_name() == "acme-ca");
  CHECK(ca.certificate().issuer_common_name() == "acme-ca");
  CHECK(ca.key().matches(ca.certificate()));
  CHECK(verify_certificate(ca.certificate(), ca.certificate(), now()).ok());
  auto days = std::chrono::duration_cast<hours>(ca.certificate().not_after() - now()).count() / 24;
  CHECK(days == 3649);  // 3650 days from now, less the hours already begun
}

TEST_CASE("a server certificate chains to its CA and carries the hosts as SANs", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({}));
  auto server = must(ca.issue_server({.hosts = {"cenv.example.com", "10.1.2.3", "::1"}}));
  CHECK_FALSE(server.certificate.is_ca());
  CHECK(server.key.matches(server.certificate));
  CHECK(server.certificate.dns_names() ==
        std::vector<std::string>{"localhost", "cenv.example.com"});
  CHECK(server.certificate.ip_addresses() ==
        std::vector<std::string>{"127.0.0.1", "10.1.2.3", "::1"});
  CHECK(verify_certificate(server.certificate, ca.certificate(), now(), CertificatePurpose::kServer)
            .ok());
  CHECK(server.certificate.check_host("cenv.example.com").ok());
  CHECK(server.certificate.check_host("10.1.2.3").ok());
  CHECK(server.certificate.check_host("localhost").ok());
  Status wrong_host = server.certificate.check_host("other.example.com");
  CHECK(wrong_host.code() == Code::kUnauthenticated);
  CHECK(contains(wrong_host.message(), "not valid for host other.example.com"));
}

TEST_CASE("a client certificate carries the user as CN and each group as O", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({}));
  auto alice = must(ca.issue_client({.user = "alice", .groups = {"cenv:admins", "dev"}}));
  auto identity = must(alice.certificate.client_identity());
  CHECK(identity.user == "alice");
  CHECK(identity.groups == std::vector<std::string>{"cenv:admins", "dev"});
  CHECK(verify_certificate(alice.certificate, ca.certificate(), now(), CertificatePurpose::kClient)
            .ok());
  auto nobody = must(ca.issue_client({.user = "bob"}));
  CHECK(must(nobody.certificate.client_identity()).groups.empty());
}

TEST_CASE("serial numbers are random", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({}));
  auto a = must(ca.issue_client({.user = "a"}));
  auto b = must(ca.issue_client({.user = "a"}));
  CHECK(a.certificate.serial_hex().size() == 32);
  CHECK(a.certificate.serial_hex() != b.certificate.serial_hex());
  CHECK_FALSE(a.key.matches(b.certificate));
}

TEST_CASE("a certificate from another CA does not verify", "[security][verify]") {
  auto ours = must(CertificateAuthority::create({}));
  auto theirs = must(CertificateAuthority::create({}));  // same CN "cenv-ca", other key
  auto mallory = must(theirs.issue_client({.user = "mallory"}));
  Status s = verify_certificate(mallory.certificate, ours.certificate(), now(),
                                CertificatePurpose::kClient);
  CHECK(s.code() == Code::kUnauthenticated);
  CHECK(contains(s.message(), "certificate CN=mallory is not issued by the CA CN=cenv-ca"));
}

TEST_CASE("an expired certificate is reported expired", "[security][verify]") {
  auto ca = must(CertificateAuthority::create({}));
  auto old =
      must(ca.issue_client({.user = "old", .validity = validity_ending_in(-hours(1), hours(48))}));
  Status s = verify_certificate(old.certificate, ca.certificate(), now());
  CHECK(s.code() == Code::kUnauthenticated);
  CHECK(contains(s.message(), "certificate CN=old expired at "));
}

TEST_CASE("a certificate not yet valid is reported so", "[security][verify]") {
  auto ca = must(CertificateAuthority::create({}));
  auto early = must(
      ca.issue_client({.user = "early", .validity = validity_ending_in(hours(72), hours(24))}));
  Status s = verify_certificate(early.certificate, ca.certificate(), now());
  CHECK(contains(s.message(), "certificate CN=early is not valid before "));
}

TEST_CASE("an expired CA fails verification naming the CA", "[security][verify]") {
  auto ca =
      must(CertificateAuthority::create({.validity = validity_ending_in(-hours(1), hours(48))}));
  auto client =
      must(ca.issue_client({.user = "u", .validity = validity_ending_in(hours(24), hours(96))}));
  Status s = verify_certificate(client.certificate, ca.certificate(), now());
  CHECK(contains(s.message(), "CA certificate CN=cenv-ca expired at "));
}

TEST_CASE("a server certificate is refused where a client certificate is needed",
          "[security][verify]") {
  auto ca = must(CertificateAuthority::create({}));
  auto server = must(ca.issue_server({}));
  Status s =
      verify_certificate(server.certificate, ca.certificate(), now(), CertificatePurpose::kClient);
  CHECK(contains(s.message(), "is not meant for a client"));
}

TEST_CASE("bad names, hosts and validity are refused with the field named", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({}));
  struct Row {
    ClientCertificateOptions options;
    std::string message;
  };
  std::vector<Row> rows = {
      {{.user = ""}, "user \"\": must have 1 to 64 characters"},
      {{.user = std::string(65, 'a')}, "must have 1 to 64 characters"},
      {{.user = "a,b"}, "user \"a,b\": may hold only"},
      {{.user = "system:cenv-controller"},
       "user \"system:cenv-controller\": names starting with \"system:\" are reserved"},
      {{.user = "ok", .groups = {"a/b"}}, "group \"a/b\": may hold only"},
      {{.user = "ok", .days = 0}, "days: must be between 1 and 36500, not 0"},
      {{.user = "ok", .validity = validity_ending_in(hours(0), hours(0))},
       "notAfter must be after notBefore"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    auto issued = ca.issue_client(row.options);
    REQUIRE_FALSE(issued.ok());
    CHECK(issued.status().code() == Code::kInvalid);
    CHECK(contains(issued.status().message(), row.message));
  }
  for (const char* host : {"bad host", "-x.example", "a..b", "x_y"}) {
    INFO(host);
    auto issued = ca.issue_server({.hosts = {host}});
    CHECK(contains(issued.status().message(), "neither a DNS name nor an IP address"));
  }
}

TEST_CASE("a CA is refused when its key or certificate does not fit", "[security][ca]") {
  auto ca = must(CertificateAuthority::create({}));
  auto other = must(CertificateAuthority::create({}));
  auto client = must(ca.issue_client({.user = "u"}));
  auto wrong_key = CertificateAuthority::from(ca.certificate(), other.key());
  CHECK(contains(wrong_key.status().message(), "is not the key of the CA certificate"));
  auto not_ca = CertificateAuthority::from(client.certificate, client.key);
  CHECK(contains(not_ca.status().message(), "is not a CA certificate"));
}

}  // namespace
}  // namespace cenv::security
