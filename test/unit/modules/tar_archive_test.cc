#include "modules/tar_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

using cenv::Code;
using cenv::modules::FileTree;
using cenv::modules::read_tar;
using cenv::modules::SourceLimits;
using cenv::modules::tree_digest;
using cenv::modules::write_tar;

namespace {

// One raw tar entry, written as given (no checks), to build archives write_tar never makes.
struct RawEntry {
  RawEntry(std::string p, mode_t t = AE_IFREG, std::string d = "", std::string l = "",
           bool hard = false)
      : path(std::move(p)), type(t), data(std::move(d)), link(std::move(l)), hardlink(hard) {}
  std::string path;
  mode_t type;
  std::string data;
  std::string link;  // symlink target, or hard link target when `hardlink`
  bool hardlink;
};

la_ssize_t append(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string raw_tar(const std::vector<RawEntry>& entries, bool gzip = false) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), &archive_write_free);
  REQUIRE(archive_write_set_format_pax_restricted(a.get()) == ARCHIVE_OK);
  if (gzip) REQUIRE(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
  std::string out;
  REQUIRE(archive_write_open2(a.get(), &out, nullptr, &append, nullptr, nullptr) == ARCHIVE_OK);
  for (const RawEntry& e : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                   &archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.path.c_str());
    archive_entry_set_filetype(entry.get(), e.type);
    archive_entry_set_perm(entry.get(), 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry.get(), e.link.c_str());
    if (e.hardlink) archive_entry_set_hardlink(entry.get(), e.link.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.data.size()));
    REQUIRE(archive_write_header(a.get(), entry.get()) == ARCHIVE_OK);
    if (!e.data.empty()) {
      REQUIRE(archive_write_data(a.get(), e.data.data(), e.data.size()) ==
              static_cast<la_ssize_t>(e.data.size()));
    }
  }
  REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

FileTree sample_tree() {
  FileTree t;
  t.files["cenv-module.yaml"] = {"name: jq\nversion: 1.0.0\n", false};
  t.files["install.sh"] = {"#!/bin/sh\napt-get install -y jq\n", true};
  t.files["lib/a/b.txt"] = {"deep", false};
  t.files["lib/c.txt"] = {"", false};
  t.files["lib-x"] = {"sorted before lib/", false};
  t.files[std::string(150, 'p') + "/" + std::string(120, 'q')] = {"long path", false};
  t.files["caf\xc3\xa9.txt"] = {"utf-8 name", false};
  return t;
}

}  // namespace

TEST_CASE("write_tar then read_tar gives back the same tree", "[modules][tar]") {
  const FileTree tree = sample_tree();
  for (bool gzip : {false, true}) {
    INFO("gzip: " << gzip);
    auto bytes = write_tar(tree, gzip);
    REQUIRE(bytes.ok());
    auto back = read_tar(*bytes, SourceLimits{});
    REQUIRE(back.ok());
    CHECK(back->files.size() == tree.files.size());
    CHECK(tree_digest(*back) == tree_digest(tree));
    CHECK(back->files.at("install.sh").executable);
    CHECK_FALSE(back->files.at("lib/c.txt").executable);
  }
}

TEST_CASE("write_tar of an empty tree reads back empty", "[modules][tar]") {
  auto bytes = write_tar(FileTree{}, false);
  REQUIRE(bytes.ok());
  auto back = read_tar(*bytes, SourceLimits{});
  REQUIRE(back.ok());
  CHECK(back->files.empty());
}

TEST_CASE("write_tar gives equal bytes for equal trees", "[modules][tar]") {
  for (bool gzip : {false, true}) {
    INFO("gzip: " << gzip);
    FileTree a = sample_tree();
    // The same content inserted in another order is the same tree.
    FileTree b;
    for (auto it = a.files.rbegin(); it != a.files.rend(); ++it) b.files.insert(*it);
    auto x = write_tar(a, gzip);
    auto y = write_tar(b, gzip);
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    CHECK(*x == *y);
    if (gzip) {
      REQUIRE(x->size() > 8);
      CHECK(x->substr(4, 4) == std::string(4, '\0'));  // no gzip timestamp
    }
    b.files["install.sh"].executable = false;
    auto z = write_tar(b, gzip);
    REQUIRE(z.ok());
    CHECK(*z != *x);
  }
}

TEST_CASE("write_tar emits each parent directory once before its files", "[modules][tar]") {
  FileTree t;
  t.files["a/b/c"] = {"1", false};
  t.files["a/b/d"] = {"2", false};
  t.files["a/e"] = {"3", true};
  auto bytes = write_tar(t, false);
  REQUIRE(bytes.ok());
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), &archive_read_free);
  REQUIRE(archive_read_support_format_tar(a.get()) == ARCHIVE_OK);
  REQUIRE(archive_read_open_memory(a.get(), bytes->data(), bytes->size()) == ARCHIVE_OK);
  std::vector<std::string> seen;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    seen.push_back(std::string(archive_entry_pathname(e)) + " " +
                   std::to_string(archive_entry_mode(e) & 07777) + " " +
                   std::to_string(archive_entry_mtime(e)) + " " +
                   std::to_string(archive_entry_uid(e)) +
                   (archive_entry_uname(e) != nullptr ? archive_entry_uname(e) : ""));
  }
  const std::vector<std::string> want = {"a/ 493 0 0", "a/b/ 493 0 0", "a/b/c 420 0 0",
                                         "a/b/d 420 0 0", "a/e 493 0 0"};
  CHECK(seen == want);
}

TEST_CASE("read_tar strips a leading ./ and skips directories", "[modules][tar]") {
  const std::string bytes =
      raw_tar({{"./", AE_IFDIR}, {"./dir/", AE_IFDIR}, {"./dir/f", AE_IFREG, "x"}});
  auto tree = read_tar(bytes, SourceLimits{});
  REQUIRE(tree.ok());
  REQUIRE(tree->files.size() == 1);
  CHECK(tree->files.at("dir/f").data == "x");
}

TEST_CASE("read_tar refuses unsafe entries naming them", "[modules][tar]") {
  struct Row {
    const char* name;
    std::vector<RawEntry> entries;
    const char* want;
  };
  const std::vector<Row> rows = {
      {"absolute path",
       {{"/etc/passwd", AE_IFREG, "root"}},
       "\"/etc/passwd\" has an absolute path"},
      {"dot-dot", {{"a/../../evil", AE_IFREG, "x"}}, "\"a/../../evil\" has a '.' or '..'"},
      {"dot-dot directory", {{"../", AE_IFDIR}}, "'..'"},
      {"symlink",
       {{"link", AE_IFLNK, "", "/etc/shadow"}},
       "\"link\" is a symbolic link to \"/etc/shadow\""},
      {"hard link",
       {{"f", AE_IFREG, "x"}, {"g", AE_IFREG, "", "f", true}},
       "\"g\" is a hard link to \"f\""},
      {"character device", {{"dev", AE_IFCHR}}, "\"dev\" is a device"},
      {"block device", {{"blk", AE_IFBLK}}, "\"blk\" is a device"},
      {"fifo", {{"pipe", AE_IFIFO}}, "\"pipe\" is a fifo"},
      {"duplicate", {{"f", AE_IFREG, "1"}, {"./f", AE_IFREG, "2"}}, "\"f\" appears twice"},
      {"file and directory",
       {{"a", AE_IFREG, "1"}, {"a/b", AE_IFREG, "2"}},
       "\"a\" is a file and also the directory of \"a/b\""},
  };
  for (const Row& row : rows) {
    INFO("case: " << row.name);
    auto tree = read_tar(raw_tar(row.entries), SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK(tree.status().code() == Code::kInvalid);
    CHECK_THAT(tree.status().message(), Catch::Contains(row.want));
  }
}

TEST_CASE("read_tar refuses bytes that are not a tar", "[modules][tar]") {
  for (const std::string& bytes : {std::string(), std::string("hello, this is not a tar file")}) {
    auto tree = read_tar(bytes, SourceLimits{});
    REQUIRE_FALSE(tree.ok());
    CHECK(tree.status().code() == Code::kInvalid);
  }
}

TEST_CASE("read_tar enforces the file count and size limits", "[modules][tar]") {
  SourceLimits limits;
  limits.max_files = 3;
  limits.max_total_bytes = 100;
  limits.max_file_bytes = 60;

  FileTree four;
  for (const char* p : {"a", "b", "c", "d"}) four.files[p] = {"x", false};
  auto too_many = read_tar(*write_tar(four, false), limits);
  REQUIRE_FALSE(too_many.ok());
  CHECK_THAT(too_many.status().message(), Catch::Contains("more than 3 files"));

  FileTree big_file;
  big_file.files["big"] = {std::string(61, 'x'), false};
  auto too_big = read_tar(*write_tar(big_file, false), limits);
  REQUIRE_FALSE(too_big.ok());
  CHECK_THAT(too_big.status().message(), Catch::Contains("\"big\" is 61 bytes, more than the 60"));

  FileTree big_total;
  big_total.files["a"] = {std::string(60, 'x'), false};
  big_total.files["b"] = {std::string(41, 'x'), false};
  auto too_much = read_tar(*write_tar(big_total, true), limits);
  REQUIRE_FALSE(too_much.ok());
  CHECK_THAT(too_much.status().message(), Catch::Contains("more than 100 bytes"));

  big_total.files["b"].data.pop_back();
  CHECK(read_tar(*write_tar(big_total, true), limits).ok());
}

TEST_CASE("read_tar stops a compression bomb at the bound", "[modules][tar]") {
  SourceLimits limits;
  limits.max_total_bytes = 1 << 20;
  limits.max_files = 10;
  // 64 MiB of zeros compresses to about 64 KiB; it must be refused while inflating, once past
  // the bound (about 2 MiB here), not after it is all expanded.
  const std::string bomb = raw_tar({{"zeros", AE_IFREG, std::string(64u << 20, '\0')}}, true);
  REQUIRE(bomb.size() < (1u << 20));
  auto tree = read_tar(bomb, limits);
  REQUIRE_FALSE(tree.ok());
  CHECK(tree.status().code() == Code::kInvalid);
  CHECK_THAT(tree.status().message(), Catch::Contains("expands beyond"));
}
