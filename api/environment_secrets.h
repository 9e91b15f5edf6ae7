#pragma once
// Environment secrets at rest (DESIGN section 7): the values of Environment.spec.secrets are
// stored sealed (encrypted and authenticated), shown redacted to API clients, and opened only
// where a container needs them. The sealing itself lives in controller/security (behind
// SecretBox); this file holds the rules on objects that the API service, the reconcilers and
// the CLI share, so that none of them needs the security library.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

#include "api/object.h"
#include "api/status.h"

namespace cenv {

// The longest secret value, in bytes (crds/environment.yaml bounds its sealed form).
inline constexpr size_t kMaxSecretValueBytes = 131072;

// What clients see in place of every secret value (get, list, watch, describe, apply's
// result). Sent back unchanged (`cenv edit`, `get -o yaml | cenv replace`), it keeps the
// stored value of that key.
inline constexpr std::string_view kRedactedSecret = "<redacted>";
// What an apply's result shows for a secret the apply changes, so that `cenv diff` shows the
// change without either value.
inline constexpr std::string_view kRedactedChangedSecret = "<redacted, changed>";

// Opens sealed secret values. Implementations are thread-safe.
class SecretOpener {
 public:
  virtual ~SecretOpener() = default;
  // The plaintext of `sealed`, sealed for `associated_data`. Invalid when it is not a sealed
  // value or does not authenticate (tampered, or sealed for another field); FailedPrecondition
  // when its key is unknown. Messages never hold any part of the secret.
  virtual Result<std::string> open(std::string_view sealed,
                                   std::string_view associated_data) const = 0;
};

// Opens and seals. Implementations are thread-safe.
class SecretBox : public SecretOpener {
 public:
  // `plaintext` sealed under the current key for `associated_data`; Invalid when too large.
  virtual Result<std::string> seal(std::string_view plaintext,
                                   std::string_view associated_data) const = 0;
  // Whether `text` has the form of a sealed value (it may still fail to open).
  virtual bool is_sealed(std::string_view text) const = 0;
  // Whether the sealed value `sealed` names the key seal() uses now.
  virtual bool sealed_with_current_key(std::string_view sealed) const = 0;
};

// The associated data a secret of Environment `environment` under `key` is sealed with:
// "Environment/<environment>/spec.secrets/<key>". A value moved to another Environment or
// key does not open.
std::string secret_associated_data(std::string_view environment, std::string_view key);

// Whether `object` is an Environment with at least one spec.secrets entry.
bool has_secrets(const Object& object);

// Seals every plaintext value of `env`'s spec.secrets (does nothing for other kinds), so that
// what is written holds no plaintext:
//  - kRedactedSecret keeps `stored`'s value of that key (Invalid when there is none);
//  - a sealed value is kept when it is `stored`'s value of that key or opens under `box`;
//  - a plaintext value that `stored`'s value of that key opens to keeps that ciphertext (an
//    unchanged secret leaves the object unchanged); any other is sealed afresh.
// `stored`: the object as stored, or nullptr. On failure Invalid
// `Environment "x": spec.secrets.KEY: ...` with the field path; `env` may be partly sealed.
Status seal_secrets(Object& env, const Object* stored, const SecretBox& box);

// Seals only the values of `env`'s spec.secrets that are not sealed yet (none is opened):
// the last guard before the store, for writes that carry stored values back.
Status seal_plaintext_secrets(Object& env, const SecretBox& box);

// Seals again under box's current key every value of `env`'s spec.secrets sealed under
// another key (`cenv certs rotate-data-key`). Returns whether any value changed; box's error,
// as seal_secrets() names it, when one does not open.
Result<bool> reseal_secrets(Object& env, const SecretBox& box);

// Ok when every value of `env`'s spec.secrets opens with `opener` (the plaintexts are
// dropped); else the first failure, as open_secret() names it.
Status check_secrets_open(const Object& env, const SecretOpener& opener);

// Replaces every value of spec.secrets with kRedactedSecret, or kRedactedChangedSecret for
// the keys in `changed`. Other kinds are left alone.
void redact_secrets(Object& object, const std::set<std::string>& changed = {});

// The JSON an API client receives of `object`: to_json() with its secrets redacted as
// redact_secrets() does (`changed`: those shown as changed).
std::string to_client_json(const Object& object, const std::set<std::string>& changed = {});

// The keys of spec.secrets whose values differ between `before` (nullptr: none) and `after`.
std::set<std::string> changed_secrets(const Object* before, const Object& after);

// The plaintext of secret `key` of Environment `env`. NotFound when it has no such key;
// otherwise opener's error, prefixed with `Environment "<name>" secret "<key>"`.
Result<std::string> open_secret(const Object& env, std::string_view key,
                                const SecretOpener& opener);

}  // namespace cenv
