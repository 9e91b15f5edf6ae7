#include "controller/security/data_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>

#include "controller/security/credential_files.h"
#include "controller/security/openssl_handles.h"
#include "controller/security/text_encoding.h"

namespace cenv::security {

namespace {

constexpr size_t kKeyIdHexDigits = 8;

std::string key_id_of(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return hex_encode({reinterpret_cast<const char*>(digest.data()), len}).substr(0, kKeyIdHexDigits);
}

// Without one trailing newline (and a carriage return before it).
std::string_view strip_line_end(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  if (text.ends_with('\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

DataKey::DataKey(std::string_view bytes) : id_(key_id_of(bytes)) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

Result<DataKey> DataKey::generate() {
  std::array<unsigned char, kDataKeyBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Status::Internal("cannot generate a data key: " + openssl_errors());
  }
  return DataKey({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

Result<DataKey> DataKey::from_bytes(std::string_view bytes) {
  if (bytes.size() != kDataKeyBytes) {
    return Status::Invalid("a data key has " + std::to_string(kDataKeyBytes) + " bytes, not " +
                           std::to_string(bytes.size()));
  }
  return DataKey(bytes);
}

Result<DataKey> DataKey::load(const std::filesystem::path& path) {
  auto text = read_credential_file(path);
  if (!text.ok()) return text.status();
  std::string_view hex = strip_line_end(*text);
  if (hex.size() != 2 * kDataKeyBytes) {
    return Status::Invalid(path.string() + ": a data key file holds " +
                           std::to_string(2 * kDataKeyBytes) + " hex digits (" +
                           std::to_string(kDataKeyBytes) + " bytes), this one " +
                           std::to_string(hex.size()) + " characters");
  }
  auto bytes = hex_decode(hex);
  if (!bytes) {
    return Status::Invalid(path.string() + ": a data key file holds hex digits (0-9, a-f) only");
  }
  return DataKey(*bytes);
}

Status DataKey::save(const std::filesystem::path& path, bool overwrite) const {
  return write_credential_file(path, file_text(), 0600, overwrite);
}

std::string DataKey::file_text() const { return hex_encode(bytes()) + "\n"; }

const DataKey* Keyring::find(std::string_view id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace cenv::security
