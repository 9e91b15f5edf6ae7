#include "controller/security/image_identity.h"

#include <catch2/catch.hpp>

#include "api/version.h"
#include "controller/security/certificate_authority.h"
#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using testing::must;

TEST_CASE("the image identity depends on the build id and the CA, and on nothing else",
          "[security][identity]") {
  auto ca = must(CertificateAuthority::create({}));
  auto other_ca = must(CertificateAuthority::create({}));
  auto reloaded = must(Certificate::from_pem(ca.certificate().pem(), "ca.crt"));
  auto id = ImageIdentity::of("0.1.0 (abc)", ca.certificate());
  CHECK(id.digest().size() == 64);
  CHECK(id.short_form() == id.digest().substr(0, 12));
  CHECK(ImageIdentity::of("0.1.0 (abc)", reloaded) == id);
  CHECK_FALSE(ImageIdentity::of("0.1.0 (abd)", ca.certificate()) == id);
  CHECK_FALSE(ImageIdentity::of("0.1.0 (abc)", other_ca.certificate()) == id);
  CHECK(ImageIdentity::of_this_build(ca.certificate()) ==
        ImageIdentity::of(api::version_string(), ca.certificate()));
}

}  // namespace
}  // namespace cenv::security
