// rotate_data_key and KeyringSecretBox::from_key_file: secrets move to a new key, the old one
// is kept as data.key.previous, and a rotation stopped half-way finishes when run again.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "api/environment_secrets.h"
#include "api/kinds.h"
#include "controller/app/local_controller.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/server/api_service.h"
#include "controller/store/sqlite_store.h"
#include "test/secret_environment.h"
#include "test/temp_dir.h"

namespace cenv {
namespace {

namespace fs = std::filesystem;
using security::DataKey;
using security::KeyringSecretBox;

struct RotationBed {
  testing::TempDir dir{"cenv-rotate"};
  fs::path key_file = dir.path() / "data.key";
  std::string url = "sqlite:" + (dir.path() / "cenv.db").string();

  // Stores Environment demo with secret DB=`value`, sealed under the box of key_file.
  void store_secret(const std::string& value) {
    auto box = KeyringSecretBox::from_key_file(key_file, true);
    REQUIRE(box.ok());
    SystemClock clock;
    auto store = SqliteStore::open((dir.path() / "cenv.db").string(), clock);
    REQUIRE(store.ok());
    ApiService api(*store.value(), KindRegistry::builtin().value(), clock);
    api.set_secret_box(box.value().get());
    REQUIRE(api.apply({{testing::secret_environment("demo", {{"DB", value}}), "test"}}, {}).ok());
  }
  // The stored secret DB as the key files now open it.
  Result<std::string> opened_secret() {
    auto box = KeyringSecretBox::from_key_file(key_file, false);
    if (!box.ok()) return box.status();
    SystemClock clock;
    auto store = SqliteStore::open((dir.path() / "cenv.db").string(), clock);
    REQUIRE(store.ok());
    auto env = store.value()->get({"Environment", "", "demo"});
    REQUIRE(env.ok());
    std::string sealed(env->spec().at("secrets").at("DB").as_string());
    if (!box.value()->sealed_with_current_key(sealed)) return Status::Internal("old key");
    return open_secret(env.value(), "DB", *box.value());
  }
};

TEST_CASE("the data key file is made on first start with mode 0600, and a bad one is refused",
          "[security][data-key]") {
  testing::TempDir dir{"cenv-key"};
  fs::path key_file = dir.path() / "home" / "data.key";
  CHECK(KeyringSecretBox::from_key_file(key_file, false).status().code() == Code::kNotFound);
  auto made = KeyringSecretBox::from_key_file(key_file, true);
  REQUIRE(made.ok());
  struct stat st {};
  REQUIRE(stat(key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = KeyringSecretBox::from_key_file(key_file, true);
  REQUIRE(again.ok());
  CHECK(again.value()->current().id() == made.value()->current().id());

  std::ofstream(key_file, std::ios::trunc) << "abcd\n";  // 2 bytes: the wrong size
  auto bad = KeyringSecretBox::from_key_file(key_file, true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalid);
  CHECK(bad.status().message().find(key_file.string()) != std::string::npos);
}

TEST_CASE("rotate_data_key seals every secret under a new key and keeps the old one",
          "[security][data-key]") {
  RotationBed bed;
  bed.store_secret("s3cret");
  auto before = DataKey::load(bed.key_file);
  REQUIRE(before.ok());
  auto report = rotate_data_key(bed.url, bed.key_file);
  INFO(report.status().to_string());
  REQUIRE(report.ok());
  CHECK(report->previous_key_id == before->id());
  CHECK(report->key_id != before->id());
  CHECK(report->environments == 1);
  CHECK(report->secrets == 1);
  CHECK(DataKey::load(bed.key_file)->id() == report->key_id);
  CHECK(DataKey::load(security::previous_data_key_file(bed.key_file))->id() == before->id());
  CHECK_FALSE(fs::exists(security::next_data_key_file(bed.key_file)));
  CHECK(bed.opened_secret().value() == "s3cret");
}

TEST_CASE("a rotation stopped before the key file moved finishes when run again",
          "[security][data-key]") {
  RotationBed bed;
  bed.store_secret("s3cret");
  // As if a rotation had generated its key and stopped before sealing anything.
  auto next = DataKey::generate();
  REQUIRE(next->save(security::next_data_key_file(bed.key_file), false).ok());
  // Meanwhile a controller on these files still opens and writes secrets.
  bed.store_secret("s3cret");
  auto report = rotate_data_key(bed.url, bed.key_file);
  REQUIRE(report.ok());
  CHECK(report->key_id == next->id());
  CHECK(DataKey::load(bed.key_file)->id() == next->id());
  CHECK(bed.opened_secret().value() == "s3cret");
}

TEST_CASE("rotate_data_key without a key file changes nothing", "[security][data-key]") {
  RotationBed bed;
  auto report = rotate_data_key(bed.url, bed.key_file);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == Code::kNotFound);
  CHECK_FALSE(fs::exists(security::next_data_key_file(bed.key_file)));
}

}  // namespace
}  // namespace cenv
