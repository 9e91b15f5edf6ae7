#include "controller/security/image_identity.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "api/version.h"
#include "controller/security/text_encoding.h"

namespace cenv::security {

namespace {

// Each part is preceded by its length (8 bytes, big-endian), so that no two different pairs
// of build id and certificate hash the same bytes.
void add_part(EVP_MD_CTX* ctx, std::string_view part) {
  std::array<unsigned char, 8> len{};
  uint64_t n = part.size();
  for (int i = 7; i >= 0; --i, n >>= 8) len[static_cast<size_t>(i)] = n & 0xff;
  EVP_DigestUpdate(ctx, len.data(), len.size());
  EVP_DigestUpdate(ctx, part.data(), part.size());
}

// Hex SHA-256 of `parts`, each preceded by its length.
std::string digest_of(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (std::string_view part : parts) add_part(ctx.get(), part);
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &len);
  return hex_encode({reinterpret_cast<const char*>(digest.data()), len});
}

}  // namespace

ImageIdentity ImageIdentity::of(std::string_view build_id, const Certificate& ca) {
  return ImageIdentity(digest_of({"cenv image identity v1", build_id, ca.der()}));
}

ImageIdentity ImageIdentity::of_build(std::string_view build_id) {
  // Another tag: no build id alone hashes like a build id with a certificate.
  return ImageIdentity(digest_of({"cenv image identity v1 without CA", build_id}));
}

ImageIdentity ImageIdentity::of_this_build() { return of_build(api::version_string()); }

ImageIdentity ImageIdentity::of_this_build(const Certificate& ca) {
  return of(api::version_string(), ca);
}

}  // namespace cenv::security
