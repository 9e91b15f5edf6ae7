#pragma once
// Sealing secrets at rest (DESIGN section 7): AES-256-GCM under a DataKey with a random
// 96-bit nonce. A sealed value is printable text that says how to open it:
//
//   enc:v1:<key id>:<base64(nonce | ciphertext | tag)>
//
// The caller's associated data — the identity of the field the value belongs to, such as
// "Environment/default/demo/spec.secrets/DB_PASSWORD" — is authenticated with it, so a sealed
// value copied into another object or field does not open there. All functions are thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "api/status.h"
#include "controller/security/data_key.h"

namespace cenv::security {

// The largest secret value seal() takes.
inline constexpr size_t kMaxSecretBytes = 1024 * 1024;
// The largest associated data seal() and open_sealed() take.
inline constexpr size_t kMaxAssociatedDataBytes = 4096;

// Whether `text` has the form of a sealed value ("enc:" prefix). It may still fail to open.
bool is_sealed(std::string_view text);

// Seals `plaintext` under `key`, authenticating `associated_data` with it. Invalid when either
// is larger than its limit; Internal when OpenSSL fails.
Result<std::string> seal(const DataKey& key, std::string_view plaintext,
                         std::string_view associated_data);

// Opens a value seal() made with one of `keyring`'s keys and the same `associated_data`.
// Invalid when it is not a well-formed sealed value, or when it does not authenticate (the
// ciphertext was changed, or it was sealed for other associated data); FailedPrecondition when
// the keyring has no key with its key id. Messages name the associated data and key id, never
// any part of the secret.
Result<std::string> open_sealed(const Keyring& keyring, std::string_view sealed,
                                std::string_view associated_data);

// The key id a sealed value names, or Invalid when it is not a well-formed sealed value.
Result<std::string> sealed_key_id(std::string_view sealed);

}  // namespace cenv::security
