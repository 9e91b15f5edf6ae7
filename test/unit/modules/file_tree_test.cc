#include "modules/file_tree.h"

#include <catch2/catch.hpp>

using cenv::modules::check_tree_path;
using cenv::modules::FileTree;
using cenv::modules::sha256_hex;
using cenv::modules::tree_digest;

TEST_CASE("sha256_hex matches the known digest of abc", "[modules][file_tree]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("tree_digest changes with a path, a byte or the executable bit", "[modules][file_tree]") {
  FileTree a;
  a.files["install.sh"] = {"echo hi\n", true};
  a.files["cenv-module.yaml"] = {"name: a\n", false};
  const std::string base = tree_digest(a);
  CHECK(base.rfind("sha256:", 0) == 0);
  CHECK(base.size() == 7 + 64);
  FileTree same = a;
  CHECK(tree_digest(same) == base);

  FileTree renamed = a;
  renamed.files.erase("install.sh");
  renamed.files["setup.sh"] = {"echo hi\n", true};
  CHECK(tree_digest(renamed) != base);

  FileTree byte = a;
  byte.files["install.sh"].data = "echo ho\n";
  CHECK(tree_digest(byte) != base);

  FileTree mode = a;
  mode.files["install.sh"].executable = false;
  CHECK(tree_digest(mode) != base);

  // Length prefixes keep moved bytes between a path and its data from colliding.
  FileTree x, y;
  x.files["ab"] = {"c", false};
  y.files["a"] = {"bc", false};
  CHECK(tree_digest(x) != tree_digest(y));
}

TEST_CASE("check_tree_path refuses absolute, empty and dot components", "[modules][file_tree]") {
  struct Row {
    const char* path;
    bool ok;
  };
  const Row rows[] = {{"a", true},     {"a/b/c.sh", true}, {"", false},    {"/etc/passwd", false},
                      {"../x", false}, {"a/../b", false},  {"./a", false}, {"a//b", false},
                      {"a/", false},   {"a/.", false}};
  for (const Row& r : rows) {
    INFO("path: " << r.path);
    CHECK(check_tree_path(r.path).ok() == r.ok);
  }
}
