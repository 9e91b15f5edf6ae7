#include "controller/security/keyring_secret_box.h"

#include "controller/security/secret_box.h"

namespace cenv::security {

namespace {

// Adds the key in `path` to `keyring` when the file exists.
Status add_if_present(const std::filesystem::path& path, Keyring& keyring) {
  auto key = DataKey::load(path);
  if (key.ok()) {
    keyring.add(key.value());
    return Status::Ok();
  }
  return key.status().code() == Code::kNotFound ? Status::Ok() : key.status();
}

Result<DataKey> load_or_create(const std::filesystem::path& key_file, bool create) {
  auto key = DataKey::load(key_file);
  if (key.ok() || key.status().code() != Code::kNotFound || !create) return key;
  auto made = DataKey::generate();
  if (!made.ok()) return made.status();
  std::error_code ec;
  if (key_file.has_parent_path()) std::filesystem::create_directories(key_file.parent_path(), ec);
  Status saved = made->save(key_file, /*overwrite=*/false);
  // Another process may have created it first: use theirs.
  if (saved.code() == Code::kAlreadyExists) return DataKey::load(key_file);
  if (!saved.ok()) return saved;
  return made;
}

}  // namespace

std::filesystem::path next_data_key_file(const std::filesystem::path& key_file) {
  return key_file.string() + ".next";
}

std::filesystem::path previous_data_key_file(const std::filesystem::path& key_file) {
  return key_file.string() + ".previous";
}

KeyringSecretBox::KeyringSecretBox(DataKey current, Keyring keyring)
    : current_(std::move(current)), keyring_(std::move(keyring)) {
  keyring_.add(current_);
}

Result<std::unique_ptr<KeyringSecretBox>> KeyringSecretBox::from_key_file(
    const std::filesystem::path& key_file, bool create) {
  auto current = load_or_create(key_file, create);
  if (!current.ok()) return current.status().with_prefix("data key");
  Keyring keyring;
  CENV_RETURN_IF_ERROR(add_if_present(next_data_key_file(key_file), keyring));
  CENV_RETURN_IF_ERROR(add_if_present(previous_data_key_file(key_file), keyring));
  return std::make_unique<KeyringSecretBox>(std::move(current).value(), std::move(keyring));
}

Result<std::string> KeyringSecretBox::open(std::string_view sealed,
                                           std::string_view associated_data) const {
  return open_sealed(keyring_, sealed, associated_data);
}

Result<std::string> KeyringSecretBox::seal(std::string_view plaintext,
                                           std::string_view associated_data) const {
  return security::seal(current_, plaintext, associated_data);
}

bool KeyringSecretBox::is_sealed(std::string_view text) const { return security::is_sealed(text); }

bool KeyringSecretBox::sealed_with_current_key(std::string_view sealed) const {
  auto id = sealed_key_id(sealed);
  return id.ok() && id.value() == current_.id();
}

}  // namespace cenv::security
