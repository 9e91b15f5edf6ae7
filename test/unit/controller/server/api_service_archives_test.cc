// Module source archives sent with an apply: checked against their digest, stored once, and
// required by the Modules that name them.

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "api/yaml_codec.h"
#include "controller/server/api_service.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace cenv {
namespace {

const std::string kGoodDigest = "sha256:" + std::string(64, 'a');

// A digester that takes "files:<digest>" as an archive holding files of that digest.
Result<std::string> test_digester(std::string_view data) {
  if (data.rfind("files:", 0) != 0) return Status::Invalid("not a tar archive");
  return std::string(data.substr(6));
}

struct ArchiveFixture {
  ArchiveFixture() {
    dir = std::filesystem::temp_directory_path() /
          ("cenv-archive-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    store = std::move(SqliteStore::open((dir / "cenv.db").string(), clock).value());
    api = std::make_unique<ApiService>(*store, KindRegistry::builtin().value(), clock);
    api->set_archive_digester(test_digester);
    REQUIRE(api->ensure_default_namespace().ok());
  }
  ~ArchiveFixture() {
    api.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // A Module in namespace default whose path source was packed to `digest`.
  std::vector<ApplyItem> module(const std::string& digest) {
    auto docs = parse_manifest(R"(
apiVersion: cenv.io/v1
kind: Module
metadata: {name: jq, namespace: default}
spec:
  source: {path: mods/jq, digest: ")" +
                                   digest + "\"}\n",
                               "m.yaml");
    REQUIRE(docs.ok());
    return {{Object(docs.value()[0].value.as_object()), "m.yaml (document 1)"}};
  }

  testing::FakeClock clock;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
};

TEST_CASE("an archive sent with its Module is stored once under its digest", "[api][archives]") {
  ArchiveFixture f;
  auto applied = f.api->apply(f.module(kGoodDigest), {}, {{kGoodDigest, "files:" + kGoodDigest}});
  REQUIRE(applied.ok());
  CHECK(applied.value()[0].action == "created");
  CHECK(f.store->get_archive(kGoodDigest).value() == "files:" + kGoodDigest);
  // Applied again without the archive: the stored one serves.
  auto again = f.api->apply(f.module(kGoodDigest), {});
  REQUIRE(again.ok());
  CHECK(again.value()[0].action == "unchanged");
  CHECK(f.store->list_archives().value().size() == 1);
}

TEST_CASE("an archive whose files do not match its digest is refused and nothing is stored",
          "[api][archives]") {
  ArchiveFixture f;
  const std::string other = "sha256:" + std::string(64, 'b');
  auto applied = f.api->apply(f.module(kGoodDigest), {}, {{kGoodDigest, "files:" + other}});
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.status().code() == Code::kInvalid);
  CHECK(applied.status().message().find("its files have digest " + other) != std::string::npos);
  CHECK_FALSE(f.store->has_archive(kGoodDigest).value());
  CHECK(f.api->get("Module", "default", "jq").status().code() == Code::kNotFound);

  auto garbage = f.api->apply(f.module(kGoodDigest), {}, {{kGoodDigest, "\x01\x02"}});
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.status().message().find("not a tar archive") != std::string::npos);
}

TEST_CASE("a Module naming an archive nobody sent is refused naming spec.source.digest",
          "[api][archives]") {
  ArchiveFixture f;
  auto applied = f.api->apply(f.module(kGoodDigest), {});
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.status().code() == Code::kInvalid);
  const std::string& m = applied.status().message();
  CHECK(m.find("m.yaml (document 1)") != std::string::npos);
  CHECK(m.find("spec.source.digest") != std::string::npos);
  CHECK(f.api->get("Module", "default", "jq").status().code() == Code::kNotFound);
}

TEST_CASE("a dry run checks archives and stores none", "[api][archives]") {
  ArchiveFixture f;
  ApplyOptions dry;
  dry.dry_run = true;
  auto applied = f.api->apply(f.module(kGoodDigest), dry, {{kGoodDigest, "files:" + kGoodDigest}});
  REQUIRE(applied.ok());
  CHECK_FALSE(f.store->has_archive(kGoodDigest).value());
}

TEST_CASE("archives are refused by a service without a digester", "[api][archives]") {
  ArchiveFixture f;
  ApiService bare(*f.store, KindRegistry::builtin().value(), f.clock);
  auto applied = bare.apply(f.module(kGoodDigest), {}, {{kGoodDigest, "files:" + kGoodDigest}});
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.status().message().find("does not take source archives") != std::string::npos);
}

}  // namespace
}  // namespace cenv
