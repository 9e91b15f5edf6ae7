#pragma once
// KeyringSecretBox: the SecretBox (api/environment_secrets.h) of a controller: seals under its
// current data key, opens with any key of its keyring. And the key files it is loaded from:
//
//   data.key            the current key (generated on first start when missing)
//   data.key.next       during `cenv certs rotate-data-key`: the key secrets move to
//   data.key.previous   after it: the key they moved from
//
// Keys are never logged, and messages name key files and key ids, never key bytes.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "api/environment_secrets.h"
#include "api/status.h"
#include "controller/security/data_key.h"

namespace cenv::security {

// The companions of key file `key_file` during and after a rotation.
std::filesystem::path next_data_key_file(const std::filesystem::path& key_file);
std::filesystem::path previous_data_key_file(const std::filesystem::path& key_file);

// Immutable; thread-safe.
class KeyringSecretBox final : public SecretBox {
 public:
  // Seals under `current`; opens with `keyring` (to which `current` is added).
  KeyringSecretBox(DataKey current, Keyring keyring);

  // The box of the key file `key_file`: its key is the current one, and the keyring also holds
  // the keys of its .next and .previous files when present. When `key_file` is missing and
  // `create` is set, a new key is generated and saved there (mode 0600) first. Errors name the
  // file: NotFound (missing, `create` unset), Invalid (not a 32-byte key: the wrong size or not
  // hex), or the file system's error.
  static Result<std::unique_ptr<KeyringSecretBox>> from_key_file(
      const std::filesystem::path& key_file, bool create);

  Result<std::string> open(std::string_view sealed,
                           std::string_view associated_data) const override;
  Result<std::string> seal(std::string_view plaintext,
                           std::string_view associated_data) const override;
  bool is_sealed(std::string_view text) const override;
  bool sealed_with_current_key(std::string_view sealed) const override;

  const DataKey& current() const { return current_; }

 private:
  DataKey current_;
  Keyring keyring_;
};

}  // namespace cenv::security
