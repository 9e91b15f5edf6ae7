#include "controller/security/image_identity.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>

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

}  // namespace

ImageIdentity ImageIdentity::of(std::string_view build_id, const Certificate& ca) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  add_part(ctx.get(), "cenv image identity v1");
  add_part(ctx.get(), build_id);
  add_part(ctx.get(), ca.der());
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &len);
  return ImageIdentity(hex_encode({reinterpret_cast<const char*>(digest.data()), len}));
}

ImageIdentity ImageIdentity::of_this_build(const Certificate& ca) {
  return of(api::version_string(), ca);
}

}  // namespace cenv::security
