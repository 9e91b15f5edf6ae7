#include "controller/security/data_key.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "test/temp_dir.h"
#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using testing::contains;
using testing::must;

TEST_CASE("a data key survives its file, mode 0600, with the same id", "[security][data-key]") {
  cenv::testing::TempDir dir("cenv-security");
  auto key = must(DataKey::generate());
  REQUIRE(key.save(dir.path() / "data.key", false).ok());
  struct stat st {};
  REQUIRE(stat((dir.path() / "data.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = must(DataKey::load(dir.path() / "data.key"));
  CHECK(loaded.bytes() == key.bytes());
  CHECK(loaded.id() == key.id());
  CHECK(key.id().size() == 8);
  CHECK(must(DataKey::generate()).id() != key.id());
}

TEST_CASE("a data key is not overwritten unless asked", "[security][data-key]") {
  cenv::testing::TempDir dir("cenv-security");
  auto first = must(DataKey::generate());
  auto second = must(DataKey::generate());
  REQUIRE(first.save(dir.path() / "data.key", false).ok());
  Status again = second.save(dir.path() / "data.key", false);
  CHECK(again.code() == Code::kAlreadyExists);
  CHECK(must(DataKey::load(dir.path() / "data.key")).id() == first.id());
  REQUIRE(second.save(dir.path() / "data.key", true).ok());
  CHECK(must(DataKey::load(dir.path() / "data.key")).id() == second.id());
}

TEST_CASE("a data key file of the wrong size or content is refused naming the file",
          "[security][data-key]") {
  cenv::testing::TempDir dir("cenv-security");
  struct Row {
    std::string content;
    std::string message;
  };
  std::vector<Row> rows = {
      {std::string(62, 'a') + "\n", "holds 64 hex digits (32 bytes), this one 62 characters"},
      {std::string(66, 'a'), "this one 66 characters"},
      {"", "this one 0 characters"},
      {std::string(63, 'a') + "z\n", "holds hex digits (0-9, a-f) only"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    std::ofstream(dir.path() / "data.key", std::ios::trunc) << row.content;
    auto loaded = DataKey::load(dir.path() / "data.key");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == Code::kInvalid);
    CHECK(contains(loaded.status().message(), (dir.path() / "data.key").string() + ": "));
    CHECK(contains(loaded.status().message(), row.message));
  }
  CHECK(DataKey::load(dir.path() / "none.key").status().code() == Code::kNotFound);
  CHECK(contains(DataKey::from_bytes("short").status().message(), "32 bytes, not 5"));
}

TEST_CASE("a keyring finds keys by id", "[security][data-key]") {
  auto a = must(DataKey::generate());
  auto b = must(DataKey::generate());
  Keyring ring(a);
  ring.add(b);
  ring.add(a);
  CHECK(ring.size() == 2);
  REQUIRE(ring.find(b.id()) != nullptr);
  CHECK(ring.find(b.id())->bytes() == b.bytes());
  CHECK(ring.find("00000000") == nullptr);
}

}  // namespace
}  // namespace cenv::security
