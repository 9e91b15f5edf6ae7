// `cenv certs rotate-data-key` (local_controller.h): the store's Environment secrets move from
// the current data key to a new one, with the key files left so that a rotation stopped at any
// point can be run again to finish.

#include <filesystem>

#include "api/clock.h"
#include "api/environment_secrets.h"
#include "api/write_normalization.h"
#include "controller/app/local_controller.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/store/open_store.h"

namespace cenv {

namespace {

namespace fs = std::filesystem;
using security::DataKey;

// The key the secrets move to: the one a stopped rotation left in the .next file, else a new
// one saved there (mode 0600) before any secret is sealed under it.
Result<DataKey> next_key(const fs::path& key_file) {
  const fs::path next_file = security::next_data_key_file(key_file);
  auto left = DataKey::load(next_file);
  if (left.ok() || left.status().code() != Code::kNotFound) return left;
  auto made = DataKey::generate();
  if (!made.ok()) return made.status();
  CENV_RETURN_IF_ERROR(made->save(next_file, /*overwrite=*/false));
  return made;
}

// Seals every Environment's secrets of `store` under box's current key.
Status reseal_store(Store& store, const SecretBox& box, DataKeyRotationReport& report) {
  ListOptions options;
  options.kind = "Environment";
  auto environments = store.list(options);
  if (!environments.ok()) return environments.status();
  for (Object& env : environments->items) {
    Object resealed = env;
    auto changed = reseal_secrets(resealed, box);
    if (!changed.ok()) return changed.status();
    if (!changed.value()) continue;
    report.secrets += static_cast<int64_t>(changed_secrets(&env, resealed).size());
    std::vector<Write> writes;
    writes.push_back({WriteOp::kUpdate, std::move(resealed)});  // carries its resourceVersion
    auto stored = store.commit(writes);
    if (!stored.ok()) return stored.status().with_prefix(describe_object(env));
    ++report.environments;
  }
  return Status::Ok();
}

}  // namespace

Result<DataKeyRotationReport> rotate_data_key(const std::string& store_url,
                                              const fs::path& key_file) {
  auto current = DataKey::load(key_file);
  if (!current.ok()) return current.status().with_prefix("data key");
  auto next = next_key(key_file);
  if (!next.ok()) return next.status().with_prefix("new data key");
  security::Keyring keyring(current.value());
  if (auto previous = DataKey::load(security::previous_data_key_file(key_file)); previous.ok()) {
    keyring.add(previous.value());
  }
  security::KeyringSecretBox box(next.value(), std::move(keyring));
  DataKeyRotationReport report{.previous_key_id = current->id(), .key_id = next->id()};
  SystemClock clock;
  auto store = open_store(store_url, clock);
  if (!store.ok())
    return store.status().with_prefix("cannot open " + describe_store_url(store_url));
  CENV_RETURN_IF_ERROR(reseal_store(*store.value(), box, report));
  // Every secret opens with the new key now. The old one stays beside it (the store's history
  // still holds values sealed under it), then the new one takes its place in one rename.
  if (current->id() != next->id()) {
    CENV_RETURN_IF_ERROR(current->save(security::previous_data_key_file(key_file), true));
  }
  std::error_code ec;
  fs::rename(security::next_data_key_file(key_file), key_file, ec);
  if (ec) return Status::Internal("cannot replace " + key_file.string() + ": " + ec.message());
  return report;
}

}  // namespace cenv
