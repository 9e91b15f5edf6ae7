#pragma once
// The image identity (DESIGN section 7): which build of cenv, trusting which CA. A client and
// a server talk only when their identities are equal. It is the SHA-256 digest of the build id
// and the CA certificate's DER, so a new build or another CA gives another identity.

#include <string>
#include <string_view>

#include "controller/security/certificate.h"

namespace cenv::security {

class ImageIdentity {
 public:
  // The identity of build `build_id` with CA `ca`.
  static ImageIdentity of(std::string_view build_id, const Certificate& ca);
  // The identity of this binary (its build id is api::version_string(), version and git
  // commit) with CA `ca`.
  static ImageIdentity of_this_build(const Certificate& ca);

  // 64 lower-case hex digits.
  const std::string& digest() const { return digest_; }
  // The first 12 hex digits, for display (as Docker shortens image ids).
  std::string short_form() const { return digest_.substr(0, 12); }

  bool operator==(const ImageIdentity&) const = default;

 private:
  explicit ImageIdentity(std::string digest) : digest_(std::move(digest)) {}

  std::string digest_;
};

}  // namespace cenv::security
