#pragma once
// TempDir: a fresh directory under the system temp dir for one test, removed with everything
// in it when the test ends.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <system_error>

namespace cenv::testing {

class TempDir {
 public:
  // `prefix` starts the directory's name ("cenv-store" -> /tmp/cenv-store-Ab12Cd).
  explicit TempDir(const std::string& prefix = "cenv-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cenv::testing
