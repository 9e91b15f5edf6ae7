#pragma once
// DataKey: the 32-byte key that seals secrets at rest (secret_box.h), and Keyring, the keys a
// controller can open secrets with. The key file (data.key) holds the key as 64 hex digits and
// a newline, mode 0600.

#include <array>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv::security {

inline constexpr size_t kDataKeyBytes = 32;

// Immutable; safe to share between threads.
class DataKey {
 public:
  // 32 bytes from OpenSSL's CSPRNG. Internal when it fails.
  static Result<DataKey> generate();
  // A key from its raw bytes. Invalid when `bytes` is not exactly 32 bytes long.
  static Result<DataKey> from_bytes(std::string_view bytes);
  // Reads a key file. NotFound when it is missing; Invalid naming the file when it does not
  // hold exactly 64 hex digits (32 bytes), optionally followed by a newline.
  static Result<DataKey> load(const std::filesystem::path& path);

  // Writes the key file with mode 0600. AlreadyExists when it exists and `overwrite` is false.
  Status save(const std::filesystem::path& path, bool overwrite) const;
  // What save() writes: 64 hex digits and a newline.
  std::string file_text() const;

  // The raw key bytes (32).
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  // The key id: the first 8 hex digits of SHA-256 of the key. It names the key beside each
  // ciphertext, so that a keyring holding old keys can open what they sealed.
  const std::string& id() const { return id_; }

 private:
  explicit DataKey(std::string_view bytes);

  std::array<unsigned char, kDataKeyBytes> bytes_{};
  std::string id_;
};

// The keys secrets may be opened with, by key id: the current one and any earlier ones still
// needed while re-encrypting. Not thread-safe to modify; const use from several threads is.
class Keyring {
 public:
  Keyring() = default;
  explicit Keyring(const DataKey& key) { add(key); }

  // Adds `key`. Two keys with one id are the same key (the id is a digest of the key).
  void add(const DataKey& key) { keys_.insert_or_assign(key.id(), key); }
  // The key with `id`, or null.
  const DataKey* find(std::string_view id) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, DataKey, std::less<>> keys_;
};

}  // namespace cenv::security
