#include "modules/folder_source.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "test/temp_dir.h"

using cenv::Code;
using cenv::modules::read_folder;
using cenv::modules::resolve_module_path;
using cenv::modules::SourceLimits;
using cenv::testing::TempDir;

namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& data, bool executable = false) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
  fs::permissions(p, executable ? fs::perms(0755) : fs::perms(0644));
}

// A manifest directory holding a module folder "mods/jq".
struct Layout {
  TempDir tmp{"cenv-folder"};
  fs::path manifests = tmp.path() / "project";
  fs::path module = manifests / "mods" / "jq";
  Layout() {
    write_file(module / "cenv-module.yaml", "name: jq\n");
    write_file(module / "install.sh", "#!/bin/sh\n", true);
    write_file(module / "files" / "etc" / "jq.conf", "colors=1\n");
  }
};

}  // namespace

TEST_CASE("read_folder reads files with their executable bit", "[modules][folder]") {
  Layout l;
  auto tree = read_folder(l.module, SourceLimits{});
  REQUIRE(tree.ok());
  REQUIRE(tree->files.size() == 3);
  CHECK(tree->files.at("cenv-module.yaml").data == "name: jq\n");
  CHECK_FALSE(tree->files.at("cenv-module.yaml").executable);
  CHECK(tree->files.at("install.sh").executable);
  CHECK(tree->files.at("files/etc/jq.conf").data == "colors=1\n");
}

TEST_CASE("read_folder skips .git at any depth", "[modules][folder]") {
  Layout l;
  write_file(l.module / ".git" / "HEAD", "ref: refs/heads/main\n");
  write_file(l.module / "vendor" / "lib" / ".git", "gitdir: ../../.git/modules/lib\n");
  auto tree = read_folder(l.module, SourceLimits{});
  REQUIRE(tree.ok());
  CHECK(tree->files.size() == 3);
}

TEST_CASE("read_folder stores an inner symbolic link as the file it points to",
          "[modules][folder]") {
  Layout l;
  fs::create_symlink("../install.sh", l.module / "files" / "setup.sh");
  auto tree = read_folder(l.module, SourceLimits{});
  REQUIRE(tree.ok());
  REQUIRE(tree->files.count("files/setup.sh") == 1);
  CHECK(tree->files.at("files/setup.sh").data == "#!/bin/sh\n");
  CHECK(tree->files.at("files/setup.sh").executable);
}

TEST_CASE("read_folder refuses links leaving the folder and special files", "[modules][folder]") {
  Layout l;
  write_file(l.manifests / "secret.txt", "s3cret");
  SECTION("a link to a file outside") {
    fs::create_symlink("../../secret.txt", l.module / "leak");
    auto tree = read_folder(l.module, SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK(tree.status().code() == Code::kInvalid);
    CHECK_THAT(tree.status().message(),
               Catch::Contains("symbolic link \"leak\"") && Catch::Contains("outside the module"));
  }
  SECTION("a link to a directory inside") {
    fs::create_directory_symlink("files", l.module / "again");
    auto tree = read_folder(l.module, SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(),
               Catch::Contains("\"again\"") && Catch::Contains("is a directory"));
  }
  SECTION("a dangling link") {
    fs::create_symlink("nowhere", l.module / "dangling");
    auto tree = read_folder(l.module, SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(),
               Catch::Contains("\"dangling\"") && Catch::Contains("dangles"));
  }
  SECTION("a fifo") {
    REQUIRE(::mkfifo((l.module / "pipe").c_str(), 0644) == 0);
    auto tree = read_folder(l.module, SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(), Catch::Contains("\"pipe\" is a fifo"));
  }
}

TEST_CASE("read_folder enforces the limits", "[modules][folder]") {
  Layout l;
  SECTION("too many files") {
    write_file(l.module / "a", "a");
    write_file(l.module / "b", "b");
    SourceLimits limits;
    limits.max_files = 4;  // 5 files in 2 directories
    auto tree = read_folder(l.module, limits);
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(), Catch::Contains("more than 4 files"));
  }
  SECTION("too many directories, even empty ones") {
    SourceLimits limits;
    limits.max_files = 5;
    for (int i = 0; i < 20; ++i) fs::create_directories(l.module / "empty" / std::to_string(i));
    auto tree = read_folder(l.module, limits);
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(), Catch::Contains("more than 5 directories"));
  }
  SECTION("a file too big") {
    SourceLimits limits;
    limits.max_file_bytes = 5;
    auto tree = read_folder(l.module, limits);
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(), Catch::Contains("bytes, more than the 5 a file may have"));
  }
  SECTION("too many bytes in all") {
    SourceLimits limits;
    limits.max_total_bytes = 20;
    auto tree = read_folder(l.module, limits);
    REQUIRE_FALSE(tree.ok());
    CHECK_THAT(tree.status().message(), Catch::Contains("more than 20 bytes"));
  }
}

TEST_CASE("read_folder of a missing folder is NotFound", "[modules][folder]") {
  TempDir tmp("cenv-folder");
  auto tree = read_folder(tmp.path() / "nope", SourceLimits{});
  REQUIRE_FALSE(tree.ok());
  CHECK(tree.status().code() == Code::kNotFound);
}

TEST_CASE("resolve_module_path finds a module folder below the manifest", "[modules][folder]") {
  Layout l;
  auto path = resolve_module_path(l.manifests, "mods/jq");
  REQUIRE(path.ok());
  CHECK(*path == fs::canonical(l.module));
  // '..' that stays inside is fine.
  auto again = resolve_module_path(l.manifests, "mods/../mods/jq/");
  REQUIRE(again.ok());
  CHECK(fs::equivalent(*again, l.module));
}

TEST_CASE("resolve_module_path refuses what a user can get wrong", "[modules][folder]") {
  Layout l;
  write_file(l.tmp.path() / "outside" / "cenv-module.yaml", "name: x\n");
  fs::create_directory_symlink(l.tmp.path() / "outside", l.manifests / "linked");
  write_file(l.manifests / "mods" / "empty" / "README", "no manifest here\n");
  write_file(l.manifests / "mods" / "file.txt", "a file\n");
  const std::string base = fs::canonical(l.manifests).string();
  struct Row {
    const char* path;
    Code code;
    std::string want;
  };
  const Row rows[] = {
      {"", Code::kInvalid, "spec.source.path \"\": is empty"},
      {"../outside", Code::kInvalid,
       "spec.source.path \"../outside\": resolves outside the manifest's directory " + base},
      {"mods/../../outside", Code::kInvalid, "resolves outside the manifest's directory"},
      {"linked", Code::kInvalid,
       "spec.source.path \"linked\": resolves outside the manifest's directory " + base},
      {"../nope", Code::kInvalid, "resolves outside"},
      {"mods/nope", Code::kNotFound,
       "spec.source.path \"mods/nope\": " + base + "/mods/nope does not exist"},
      {"mods/file.txt", Code::kInvalid, "is not a directory"},
      {"mods/empty", Code::kNotFound, "holds no cenv-module.yaml"},
  };
  for (const Row& r : rows) {
    INFO("path: " << r.path);
    auto path = resolve_module_path(l.manifests, r.path);
    REQUIRE_FALSE(path.ok());
    CHECK(path.status().code() == r.code);
    CHECK_THAT(path.status().message(), Catch::Contains(r.want));
  }
}
