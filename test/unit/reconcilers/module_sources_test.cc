// ModuleSources over a fake ArchiveReader and a fake GitFetcher: each kind of source, the
// errors naming their field, and the cache (hits, refetch on generation and build request,
// bounds).

#include "reconcilers/module_sources.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "modules/tar_archive.h"
#include "test/fakes/fake_archive_reader.h"
#include "test/fakes/fake_git_fetcher.h"

namespace cenv {
namespace {

namespace json = boost::json;
using testing::FakeArchiveReader;
using testing::FakeGitFetcher;

constexpr const char* kManifest = R"(
name: jq
version: 1.6.0
requires:
  apt: [jq]
commands:
  pretty: {command: [jq, .], description: Pretty-print JSON}
)";

const std::string kCommit1 = std::string(40, 'a');
const std::string kCommit2 = std::string(40, 'b');
constexpr const char* kUrl = "file:///srv/modules.git";

modules::FileTree module_files(const std::string& manifest = kManifest) {
  modules::FileTree t;
  t.files["cenv-module.yaml"] = {manifest, false};
  t.files["bin/hello"] = {"#!/bin/sh\necho hi\n", true};
  return t;
}

Object module(const std::string& name, json::object spec, const std::string& uid = "uid-1",
              int64_t generation = 1) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = "Module";
  o.set_name(name);
  o.set_ns("dev");
  o.set_uid(uid);
  o.set_generation(generation);
  o.json()["spec"] = std::move(spec);
  return o;
}

json::object digest_spec(const std::string& digest) {
  return {{"source", {{"path", "./mods/jq"}, {"digest", digest}}}};
}

json::object git_spec(const std::string& ref = "main", const std::string& subdir = "") {
  json::object git{{"url", kUrl}, {"ref", ref}};
  if (!subdir.empty()) git["subdir"] = subdir;
  return {{"source", {{"git", std::move(git)}}}};
}

// A fixture holding the fakes, the Environment "dev"'s build request and the sources.
struct Sources {
  explicit Sources(ModuleSourcesOptions options = {})
      : sources(
            archives, git,
            [this](std::string_view env) { return env == "dev" ? build_request : std::string(); },
            options) {}

  // Uploads `files` as a gzip tar; returns its digest.
  std::string upload(const modules::FileTree& files) {
    auto tar = modules::write_tar(files, true);
    REQUIRE(tar.ok());
    std::string digest = modules::tree_digest(files);
    archives.put(digest, tar.value());
    return digest;
  }
  FetchedModule fetch_ok(const Object& m) {
    auto r = sources.fetch(m);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    return std::move(r).value();
  }

  FakeArchiveReader archives;
  FakeGitFetcher git;
  std::string build_request;  // read by the sources' lookup while fetching
  ModuleSources sources;
};

// The field of a failed fetch's first FieldError.
std::string field_of(const Result<FetchedModule>& r) {
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.status().fields().empty());
  return r.status().fields().front().path;
}

TEST_CASE("module sources: an uploaded archive yields its files and manifest at its digest",
          "[reconcilers][module-sources]") {
  Sources s;
  std::string digest = s.upload(module_files());
  FetchedModule f = s.fetch_ok(module("jq", digest_spec(digest)));
  CHECK(f.revision == digest);
  CHECK(f.manifest.name == "jq");
  CHECK(f.manifest.version.text() == "1.6.0");
  CHECK(f.files.files.count("bin/hello") == 1);
  CHECK(f.files.files.at("bin/hello").executable);
}

TEST_CASE("module sources: a missing archive is NotFound on spec.source.digest",
          "[reconcilers][module-sources]") {
  Sources s;
  auto r = s.sources.fetch(module("jq", digest_spec("sha256:" + std::string(64, '0'))));
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(field_of(r) == "spec.source.digest");
  CHECK(r.status().message().find("Module \"jq\": spec.source.digest") == 0);
}

TEST_CASE("module sources: an archive whose files differ from its digest is refused",
          "[reconcilers][module-sources]") {
  Sources s;
  auto tar = modules::write_tar(module_files(), true);
  REQUIRE(tar.ok());
  const std::string claimed = "sha256:" + std::string(64, 'c');
  s.archives.put(claimed, tar.value());
  auto r = s.sources.fetch(module("jq", digest_spec(claimed)));
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(field_of(r) == "spec.source.digest");
  CHECK(r.status().message().find(modules::tree_digest(module_files())) != std::string::npos);
}

TEST_CASE("module sources: a path without a digest names spec.source.digest",
          "[reconcilers][module-sources]") {
  Sources s;
  auto r = s.sources.fetch(module("jq", {{"source", {{"path", "./mods/jq"}}}}));
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(field_of(r) == "spec.source.digest");
}

TEST_CASE("module sources: an archive without cenv-module.yaml is an invalid module",
          "[reconcilers][module-sources]") {
  Sources s;
  modules::FileTree files;
  files.files["README"] = {"no manifest here", false};
  auto r = s.sources.fetch(module("jq", digest_spec(s.upload(files))));
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().message().find("./mods/jq/cenv-module.yaml") != std::string::npos);
}

TEST_CASE("module sources: a bad manifest is Invalid naming the file and the field",
          "[reconcilers][module-sources]") {
  Sources s;
  auto r = s.sources.fetch(
      module("jq", digest_spec(s.upload(module_files("name: jq\nversion: one\n")))));
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().to_string().find("./mods/jq/cenv-module.yaml") != std::string::npos);
  CHECK(r.status().to_string().find("version") != std::string::npos);
}

TEST_CASE("module sources: a git source yields the commit and the files of its subdir",
          "[reconcilers][module-sources]") {
  Sources s;
  modules::FileTree repo;
  for (auto& [path, entry] : module_files().files) repo.files["modules/jq/" + path] = entry;
  s.git.set(kUrl, "main", kCommit1, repo);
  FetchedModule f = s.fetch_ok(module("jq", git_spec("main", "modules/jq")));
  CHECK(f.revision == kCommit1);
  CHECK(f.manifest.name == "jq");
  CHECK(f.files.files.count("bin/hello") == 1);
}

TEST_CASE("module sources: git errors name the field of spec.source.git",
          "[reconcilers][module-sources]") {
  Sources s;
  s.git.set(kUrl, "main", kCommit1, module_files());
  struct Row {
    json::object spec;
    Code code;
    std::string field;
  };
  std::vector<Row> rows{
      {git_spec("nope"), Code::kNotFound, "spec.source.git.ref"},
      {git_spec("main", "missing"), Code::kNotFound, "spec.source.git.subdir"},
      {{{"source", {{"git", {{"url", "file:///elsewhere"}, {"ref", "main"}}}}}},
       Code::kUnavailable,
       "spec.source.git.url"},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    auto r = s.sources.fetch(module("jq", rows[i].spec, "uid-" + std::to_string(i)));
    INFO("row " << i << ": " << r.status().to_string());
    CHECK(r.status().code() == rows[i].code);
    CHECK(field_of(r) == rows[i].field);
    CHECK(r.status().message().find(rows[i].field) != std::string::npos);
  }
}

TEST_CASE("module sources: an inline Module's revision does not depend on key order",
          "[reconcilers][module-sources]") {
  Sources s;
  auto a = json::parse(R"({"requires": {"apt": ["jq", "curl"], "pip": ["requests"]},
                           "install": "echo hi",
                           "commands": {"x": {"command": ["true"], "description": "d"}}})")
               .as_object();
  auto b = json::parse(R"({"commands": {"x": {"description": "d", "command": ["true"]}},
                           "install": "echo hi",
                           "requires": {"pip": ["requests"], "apt": ["jq", "curl"]},
                           "options": {"ignored": true}})")
               .as_object();
  FetchedModule fa = s.fetch_ok(module("tools", a, "uid-a"));
  FetchedModule fb = s.fetch_ok(module("tools", b, "uid-b"));
  CHECK(fa.revision.rfind("sha256:", 0) == 0);
  CHECK(fa.revision.size() == 71);
  CHECK(fa.revision == fb.revision);
  CHECK(fa.manifest.name == "tools");
  CHECK(fa.files.files.empty());
  // Order within an array is meaning (install order of packages): it changes the revision.
  auto c = a;
  c["requires"].as_object()["apt"] = json::array{"curl", "jq"};
  CHECK(s.fetch_ok(module("tools", c, "uid-c")).revision != fa.revision);
}

TEST_CASE("module sources: a cached Module reads neither the archive nor git again",
          "[reconcilers][module-sources]") {
  Sources s;
  std::string digest = s.upload(module_files());
  s.git.set(kUrl, "main", kCommit1, module_files());
  Object from_archive = module("jq", digest_spec(digest), "uid-archive");
  Object from_git = module("jq2", git_spec(), "uid-git");
  for (int i = 0; i < 5; ++i) {
    CHECK(s.fetch_ok(from_archive).revision == digest);
    CHECK(s.fetch_ok(from_git).revision == kCommit1);
  }
  CHECK(s.archives.reads() == 1);
  CHECK(s.git.fetches() == 1);
  CHECK(s.sources.reads() == 2);
}

TEST_CASE("module sources: a new generation fetches a git branch again",
          "[reconcilers][module-sources]") {
  Sources s;
  s.git.set(kUrl, "main", kCommit1, module_files());
  CHECK(s.fetch_ok(module("jq", git_spec(), "uid-1", 1)).revision == kCommit1);
  s.git.set(kUrl, "main", kCommit2, module_files());
  // Same generation: the branch is not read again.
  CHECK(s.fetch_ok(module("jq", git_spec(), "uid-1", 1)).revision == kCommit1);
  CHECK(s.fetch_ok(module("jq", git_spec(), "uid-1", 2)).revision == kCommit2);
  CHECK(s.git.fetches() == 2);
}

TEST_CASE("module sources: a new build request of the Environment fetches a git branch again",
          "[reconcilers][module-sources]") {
  Sources s;
  s.git.set(kUrl, "main", kCommit1, module_files());
  Object m = module("jq", git_spec());
  CHECK(s.fetch_ok(m).revision == kCommit1);
  s.git.set(kUrl, "main", kCommit2, module_files());
  CHECK(s.fetch_ok(m).revision == kCommit1);
  s.build_request = "2027-01-15T08:00:00Z";
  CHECK(s.fetch_ok(m).revision == kCommit2);
  CHECK(s.fetch_ok(m).revision == kCommit2);
  CHECK(s.git.fetches() == 2);
  // An archive source does not change under the same digest: a build request reads nothing.
  std::string digest = s.upload(module_files());
  Object packed = module("packed", digest_spec(digest), "uid-packed");
  (void)s.fetch_ok(packed);
  s.build_request = "2027-01-15T09:00:00Z";
  (void)s.fetch_ok(packed);
  CHECK(s.archives.reads() == 1);
}

TEST_CASE("module sources: failures that may pass later are not cached, invalid ones are",
          "[reconcilers][module-sources]") {
  Sources s;
  Object m = module("jq", git_spec());
  CHECK(s.sources.fetch(m).status().code() == Code::kUnavailable);
  CHECK(s.sources.fetch(m).status().code() == Code::kUnavailable);
  CHECK(s.git.fetches() == 2);
  s.git.set(kUrl, "main", kCommit1, module_files());
  CHECK(s.fetch_ok(m).revision == kCommit1);

  Object bad = module("bad", digest_spec(s.upload(module_files("name: bad\n"))), "uid-bad");
  CHECK(s.sources.fetch(bad).status().code() == Code::kInvalid);
  CHECK(s.sources.fetch(bad).status().code() == Code::kInvalid);
  CHECK(s.archives.reads() == 1);
}

TEST_CASE("module sources: the cache keeps at most max_entries Modules",
          "[reconcilers][module-sources]") {
  ModuleSourcesOptions o;
  o.max_entries = 2;
  Sources s(o);
  std::string digest = s.upload(module_files());
  Object a = module("a", digest_spec(digest), "uid-a");
  Object b = module("b", digest_spec(digest), "uid-b");
  Object c = module("c", digest_spec(digest), "uid-c");
  (void)s.fetch_ok(a);
  (void)s.fetch_ok(b);
  (void)s.fetch_ok(a);  // b is now the least recently used
  (void)s.fetch_ok(c);  // drops b
  CHECK(s.archives.reads() == 3);
  (void)s.fetch_ok(a);
  CHECK(s.archives.reads() == 3);
  (void)s.fetch_ok(b);
  CHECK(s.archives.reads() == 4);
}

TEST_CASE("module sources: concurrent fetches of one Module read its source once",
          "[reconcilers][module-sources]") {
  Sources s;
  s.git.set(kUrl, "main", kCommit1, module_files());
  Object m = module("jq", git_spec());
  std::atomic<int> failures{0};  // Catch2's assertions are not thread-safe
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        if (!s.sources.fetch(m).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(s.git.fetches() == 1);
}

}  // namespace
}  // namespace cenv
