#include "controller/security/credential_files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test/temp_dir.h"
#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using testing::contains;
using testing::must;

int mode_of(const std::filesystem::path& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

TEST_CASE("credential files get exactly the mode asked for, whatever the umask",
          "[security][files]") {
  cenv::testing::TempDir dir("cenv-security");
  mode_t old_umask = umask(0077);
  Status a = write_credential_file(dir.path() / "a.crt", "public", 0644, false);
  umask(0);
  Status b = write_credential_file(dir.path() / "b.key", "private", 0600, false);
  umask(old_umask);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(mode_of(dir.path() / "a.crt") == 0644);
  CHECK(mode_of(dir.path() / "b.key") == 0600);
  CHECK(must(read_credential_file(dir.path() / "b.key")) == "private");
  // No temporary file is left beside them.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 2);
}

TEST_CASE("an existing credential file is kept unless overwriting is asked for",
          "[security][files]") {
  cenv::testing::TempDir dir("cenv-security");
  const auto path = dir.path() / "server.key";
  REQUIRE(write_credential_file(path, "old", 0600, false).ok());
  Status refused = write_credential_file(path, "new", 0600, false);
  CHECK(refused.code() == Code::kAlreadyExists);
  CHECK(contains(refused.message(), path.string() + ": already exists"));
  CHECK(must(read_credential_file(path)) == "old");
  REQUIRE(write_credential_file(path, "new", 0600, true).ok());
  CHECK(must(read_credential_file(path)) == "new");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}

TEST_CASE("reading a credential file that is missing, a directory or too large names it",
          "[security][files]") {
  cenv::testing::TempDir dir("cenv-security");
  CHECK(read_credential_file(dir.path() / "none").status().code() == Code::kNotFound);
  auto directory = read_credential_file(dir.path());
  CHECK(contains(directory.status().message(), dir.path().string() + ": not a regular file"));
  std::ofstream(dir.path() / "big") << std::string(100, 'x');
  auto big = read_credential_file(dir.path() / "big", 99);
  CHECK(contains(big.status().message(), "big: 100 bytes, more than the 99"));
  CHECK(must(read_credential_file(dir.path() / "big", 100)).size() == 100);
  auto unwritable = write_credential_file(dir.path() / "no" / "such" / "dir", "x", 0600, false);
  CHECK(unwritable.code() == Code::kUnavailable);
  CHECK(contains(unwritable.message(), "dir: cannot write"));
}

}  // namespace
}  // namespace cenv::security
