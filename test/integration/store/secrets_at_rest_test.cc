// Environment secrets at rest on PostgreSQL: a `pg_dump` of the store holds no plain text of a
// secret applied through the API — neither the object nor its change history — before and
// after `cenv certs rotate-data-key` (rotate_data_key) moved it to a new key.

#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <string>

#include "api/environment_secrets.h"
#include "api/kinds.h"
#include "controller/app/local_controller.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/server/api_service.h"
#include "controller/store/postgres_store.h"
#include "test/integration/store/postgres_server.h"
#include "test/secret_environment.h"
#include "test/temp_dir.h"

namespace cenv {
namespace {

std::string pg_dump(const std::string& url) {
  std::string out;
  FILE* p = popen(("pg_dump '" + url + "' 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

TEST_CASE("a pg_dump of the store holds no plain text of a secret, before and after rotation",
          "[integration][postgres][secrets]") {
  auto& server = testing::postgres_server();
  testing::TestDatabase db(server);
  testing::TempDir dir{"cenv-pg-secrets"};
  const auto key_file = dir.path() / "data.key";
  const std::string plain = "pg-pl41n-" + std::to_string(std::random_device{}());
  SystemClock clock;
  {
    auto box = security::KeyringSecretBox::from_key_file(key_file, true);
    REQUIRE(box.ok());
    auto store = PostgresStore::open(db.url(), clock);
    REQUIRE(store.ok());
    ApiService api(*store.value(), KindRegistry::builtin().value(), clock);
    api.set_secret_box(box.value().get());
    REQUIRE(api.ensure_default_namespace().ok());
    for (const std::string& value : {plain + "-old", plain}) {  // history holds both
      Object env = testing::secret_environment("demo", {{"DB", value}});
      REQUIRE(api.apply({{env, "test"}}, {}).ok());
    }
  }
  std::string dump = pg_dump(db.url());
  CHECK(dump.find("enc:v1:") != std::string::npos);  // the dump does hold the objects
  CHECK(dump.find(plain) == std::string::npos);

  auto report = rotate_data_key(db.url(), key_file);
  INFO(report.status().to_string());
  REQUIRE(report.ok());
  CHECK(report->secrets == 1);
  dump = pg_dump(db.url());
  CHECK(dump.find("enc:v1:" + report->key_id) != std::string::npos);
  CHECK(dump.find(plain) == std::string::npos);

  auto box = security::KeyringSecretBox::from_key_file(key_file, false);
  REQUIRE(box.ok());
  auto store = PostgresStore::open(db.url(), clock);
  REQUIRE(store.ok());
  auto env = store.value()->get({"Environment", "", "demo"});
  REQUIRE(env.ok());
  CHECK(open_secret(env.value(), "DB", *box.value()).value() == plain);
}

}  // namespace
}  // namespace cenv
