#include "api/environment_secrets.h"

#include <boost/json.hpp>

#include "api/write_normalization.h"

namespace cenv {

namespace json = boost::json;

namespace {

json::object* secrets_of(Object& object) {
  if (object.kind() != "Environment") return nullptr;
  json::object* spec =
      object.json().if_contains("spec") ? object.json()["spec"].if_object() : nullptr;
  if (spec == nullptr || !spec->contains("secrets")) return nullptr;
  return (*spec)["secrets"].if_object();
}

const json::object* secrets_of(const Object& object) {
  if (object.kind() != "Environment") return nullptr;
  const json::object* spec = object.spec_or_null();
  const json::value* secrets = spec ? spec->if_contains("secrets") : nullptr;
  return secrets ? secrets->if_object() : nullptr;
}

// The string value of `key` in `secrets`, or nullptr.
const json::string* secret_value(const json::object* secrets, std::string_view key) {
  const json::value* v = secrets ? secrets->if_contains(key) : nullptr;
  return v ? v->if_string() : nullptr;
}

Status invalid_secret(const Object& env, std::string_view key, const std::string& why) {
  std::string path = "spec.secrets." + std::string(key);
  return Status::Invalid(describe_object(env) + ": " + path + ": " + why, {{path, why}});
}

// The sealed text `value` of secret `key` should be stored as (see seal_secrets).
Result<std::string> sealed_value(const Object& env, std::string_view key, std::string_view value,
                                 const json::string* stored, const SecretBox& box) {
  const std::string aad = secret_associated_data(env.name(), key);
  if (value == kRedactedSecret || value == kRedactedChangedSecret) {
    if (stored == nullptr) {
      return invalid_secret(env, key,
                            "Invalid value: \"" + std::string(value) +
                                "\" stands for a stored secret, and none is stored");
    }
    return std::string(*stored);
  }
  if (stored != nullptr && *stored == value) return std::string(value);
  if (box.is_sealed(value)) {
    auto opened = box.open(value, aad);
    if (!opened.ok()) return invalid_secret(env, key, opened.status().message());
    return std::string(value);
  }
  if (stored != nullptr && box.is_sealed(*stored)) {
    auto previous = box.open(*stored, aad);
    if (previous.ok() && previous.value() == value) return std::string(*stored);
  }
  if (value.size() > kMaxSecretValueBytes) {
    return invalid_secret(
        env, key,
        "Too long: may not be more than " + std::to_string(kMaxSecretValueBytes) + " bytes");
  }
  auto sealed = box.seal(value, aad);
  if (!sealed.ok()) return invalid_secret(env, key, sealed.status().message());
  return sealed;
}

}  // namespace

std::string secret_associated_data(std::string_view environment, std::string_view key) {
  return "Environment/" + std::string(environment) + "/spec.secrets/" + std::string(key);
}

bool has_secrets(const Object& object) {
  const json::object* secrets = secrets_of(object);
  return secrets != nullptr && !secrets->empty();
}

Status seal_secrets(Object& env, const Object* stored, const SecretBox& box) {
  json::object* secrets = secrets_of(env);
  if (secrets == nullptr) return Status::Ok();
  const json::object* before = stored ? secrets_of(*stored) : nullptr;
  for (auto& [key, value] : *secrets) {
    if (!value.is_string()) continue;  // the schema refuses it
    auto sealed = sealed_value(env, key, value.get_string(), secret_value(before, key), box);
    if (!sealed.ok()) return sealed.status();
    value = sealed.value();
  }
  return Status::Ok();
}

Status seal_plaintext_secrets(Object& env, const SecretBox& box) {
  json::object* secrets = secrets_of(env);
  if (secrets == nullptr) return Status::Ok();
  for (auto& [key, value] : *secrets) {
    if (!value.is_string() || box.is_sealed(value.get_string())) continue;
    auto sealed = sealed_value(env, key, value.get_string(), nullptr, box);
    if (!sealed.ok()) return sealed.status();
    value = sealed.value();
  }
  return Status::Ok();
}

Result<bool> reseal_secrets(Object& env, const SecretBox& box) {
  json::object* secrets = secrets_of(env);
  bool changed = false;
  if (secrets == nullptr) return changed;
  for (auto& [key, value] : *secrets) {
    if (!value.is_string() || box.sealed_with_current_key(value.get_string())) continue;
    const std::string aad = secret_associated_data(env.name(), key);
    auto opened = box.open(value.get_string(), aad);
    if (!opened.ok()) return invalid_secret(env, key, opened.status().message());
    auto sealed = box.seal(opened.value(), aad);
    if (!sealed.ok()) return invalid_secret(env, key, sealed.status().message());
    value = sealed.value();
    changed = true;
  }
  return changed;
}

void redact_secrets(Object& object, const std::set<std::string>& changed) {
  json::object* secrets = secrets_of(object);
  if (secrets == nullptr) return;
  for (auto& [key, value] : *secrets) {
    bool is_changed = changed.count(std::string(key)) > 0;
    value = is_changed ? kRedactedChangedSecret : kRedactedSecret;
  }
}

std::string to_client_json(const Object& object, const std::set<std::string>& changed) {
  if (secrets_of(object) == nullptr) return object.to_json();
  Object shown = object;
  redact_secrets(shown, changed);
  return shown.to_json();
}

std::set<std::string> changed_secrets(const Object* before, const Object& after) {
  std::set<std::string> changed;
  const json::object* now = secrets_of(after);
  if (now == nullptr) return changed;
  const json::object* then = before ? secrets_of(*before) : nullptr;
  for (const auto& [key, value] : *now) {
    const json::value* old = then ? then->if_contains(key) : nullptr;
    if (old == nullptr || *old != value) changed.insert(std::string(key));
  }
  return changed;
}

Status check_secrets_open(const Object& env, const SecretOpener& opener) {
  const json::object* secrets = secrets_of(env);
  if (secrets == nullptr) return Status::Ok();
  for (const auto& entry : *secrets) {
    CENV_RETURN_IF_ERROR(open_secret(env, entry.key(), opener).status());
  }
  return Status::Ok();
}

Result<std::string> open_secret(const Object& env, std::string_view key,
                                const SecretOpener& opener) {
  const json::string* value = secret_value(secrets_of(env), key);
  std::string what =
      "Environment \"" + std::string(env.name()) + "\" secret \"" + std::string(key) + "\"";
  if (value == nullptr) return Status::NotFound(what + ": no such secret");
  auto opened = opener.open(*value, secret_associated_data(env.name(), key));
  if (!opened.ok()) return opened.status().with_prefix(what);
  return opened;
}

}  // namespace cenv
