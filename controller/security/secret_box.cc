#include "controller/security/secret_box.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "controller/security/openssl_handles.h"
#include "controller/security/text_encoding.h"

namespace cenv::security {

namespace {

constexpr std::string_view kPrefix = "enc:";
constexpr std::string_view kVersion = "v1";
constexpr size_t kKeyIdChars = 8;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// "enc:v1:" + key id + ":" + base64 of the largest payload.
constexpr size_t kMaxSealedChars =
    7 + kKeyIdChars + 1 + 4 * ((kNonceBytes + kMaxSecretBytes + kTagBytes + 2) / 3);

// The parts of a well-formed sealed value.
struct SealedParts {
  std::string key_id;
  std::string nonce;
  std::string ciphertext;
  std::string tag;
};

std::string header(std::string_view key_id) {
  return std::string(kPrefix) + std::string(kVersion) + ":" + std::string(key_id) + ":";
}

// What GCM authenticates besides the ciphertext: the header binds the format and key id.
std::string gcm_aad(std::string_view key_id, std::string_view associated_data) {
  return header(key_id) + std::string(associated_data);
}

Status check_associated_data(std::string_view associated_data) {
  if (associated_data.size() > kMaxAssociatedDataBytes) {
    return Status::Invalid("associated data of " + std::to_string(associated_data.size()) +
                           " bytes: more than " + std::to_string(kMaxAssociatedDataBytes));
  }
  return Status::Ok();
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Result<SealedParts> parse_sealed(std::string_view sealed) {
  auto malformed = [](const std::string& why) {
    return Status::Invalid("not a sealed value: " + why);
  };
  if (!is_sealed(sealed)) return malformed("it does not start with \"enc:\"");
  if (sealed.size() > kMaxSealedChars) return malformed("longer than any sealed secret");
  std::string_view rest = sealed.substr(kPrefix.size());
  if (!rest.starts_with(std::string(kVersion) + ":")) {
    return malformed("unknown format version (this cenv reads enc:" + std::string(kVersion) + ")");
  }
  rest.remove_prefix(kVersion.size() + 1);
  size_t colon = rest.find(':');
  if (colon != kKeyIdChars || !hex_decode(rest.substr(0, colon))) {
    return malformed("the key id is not 8 hex digits");
  }
  auto payload = base64_decode(rest.substr(colon + 1));
  if (!payload) return malformed("the payload is not base64");
  if (payload->size() < kNonceBytes + kTagBytes) return malformed("the payload is too short");
  size_t ciphertext_len = payload->size() - kNonceBytes - kTagBytes;
  return SealedParts{std::string(rest.substr(0, colon)), payload->substr(0, kNonceBytes),
                     payload->substr(kNonceBytes, ciphertext_len),
                     payload->substr(kNonceBytes + ciphertext_len)};
}

// Sets up `ctx` for AES-256-GCM with `key` and `nonce`, encrypting or decrypting, and feeds it
// the associated data.
bool gcm_init(EVP_CIPHER_CTX* ctx, bool encrypt, const DataKey& key, std::string_view nonce,
              std::string_view aad) {
  int len = 0;
  return EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) &&
         EVP_CipherInit_ex(ctx, nullptr, nullptr, bytes_of(key.bytes()), bytes_of(nonce), -1) &&
         EVP_CipherUpdate(ctx, nullptr, &len, bytes_of(aad), static_cast<int>(aad.size()));
}

}  // namespace

bool is_sealed(std::string_view text) { return text.starts_with(kPrefix); }

Result<std::string> seal(const DataKey& key, std::string_view plaintext,
                         std::string_view associated_data) {
  if (plaintext.size() > kMaxSecretBytes) {
    return Status::Invalid("a secret value of " + std::to_string(plaintext.size()) +
                           " bytes: more than the " + std::to_string(kMaxSecretBytes) + " allowed");
  }
  CENV_RETURN_IF_ERROR(check_associated_data(associated_data));
  std::string nonce(kNonceBytes, '\0');
  // payload = nonce | ciphertext | tag; GCM's ciphertext is as long as the plaintext.
  std::string payload(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(payload.data());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  bool ok = ctx && RAND_bytes(out, kNonceBytes) == 1;
  nonce.assign(payload.data(), kNonceBytes);
  ok = ok && gcm_init(ctx.get(), true, key, nonce, gcm_aad(key.id(), associated_data)) &&
       EVP_EncryptUpdate(ctx.get(), out + kNonceBytes, &len, bytes_of(plaintext),
                         static_cast<int>(plaintext.size())) &&
       EVP_EncryptFinal_ex(ctx.get(), out + kNonceBytes + len, &final_len) &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                           out + kNonceBytes + plaintext.size());
  if (!ok) return Status::Internal("cannot seal a secret: " + openssl_errors());
  return header(key.id()) + base64_encode(payload);
}

Result<std::string> open_sealed(const Keyring& keyring, std::string_view sealed,
                                std::string_view associated_data) {
  CENV_RETURN_IF_ERROR(check_associated_data(associated_data));
  auto parts = parse_sealed(sealed);
  if (!parts.ok()) return parts.status().with_prefix(std::string(associated_data));
  const DataKey* key = keyring.find(parts->key_id);
  if (key == nullptr) {
    return Status::FailedPrecondition(std::string(associated_data) + ": sealed with data key " +
                                      parts->key_id + ", which this keyring does not hold");
  }
  std::string plaintext(parts->ciphertext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  bool ok =
      ctx &&
      gcm_init(ctx.get(), false, *key, parts->nonce, gcm_aad(parts->key_id, associated_data)) &&
      EVP_DecryptUpdate(ctx.get(), out, &len, bytes_of(parts->ciphertext),
                        static_cast<int>(parts->ciphertext.size())) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, parts->tag.data()) &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &final_len) > 0;
  openssl_errors();
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Status::Invalid(std::string(associated_data) + ": the sealed value (data key " +
                           parts->key_id +
                           ") does not authenticate: it was changed, or sealed for another field");
  }
  return plaintext;
}

Result<std::string> sealed_key_id(std::string_view sealed) {
  auto parts = parse_sealed(sealed);
  if (!parts.ok()) return parts.status();
  return parts->key_id;
}

}  // namespace cenv::security
