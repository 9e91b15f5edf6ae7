#include "modules/git_source.h"

#include <git2.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test/temp_dir.h"

using cenv::Code;
using cenv::modules::GitSourceSpec;
using cenv::modules::Libgit2Fetcher;
using cenv::modules::redact_url;
using cenv::testing::TempDir;

namespace fs = std::filesystem;

namespace {

// Holds libgit2 initialized for the test's own repository building.
struct Libgit2 {
  Libgit2() { git_libgit2_init(); }
  ~Libgit2() { git_libgit2_shutdown(); }
};

void check_git(int rc, const char* what) {
  INFO(what << ": " << (git_error_last() != nullptr ? git_error_last()->message : ""));
  REQUIRE(rc == 0);
}

// A non-bare repository built with libgit2 itself (no git CLI needed): commits of whole trees
// given as path -> (data, mode) onto branch "main".
class TestRepo {
 public:
  struct File {
    std::string data;
    git_filemode_t mode = GIT_FILEMODE_BLOB;
  };

  explicit TestRepo(const fs::path& dir) : dir_(dir) {
    check_git(git_repository_init(&repo_, dir.c_str(), 0), "init");
    check_git(git_repository_set_head(repo_, "refs/heads/main"), "set HEAD");
  }
  ~TestRepo() { git_repository_free(repo_); }

  // Commits exactly `files` on HEAD's branch; returns the commit id.
  std::string commit(const std::map<std::string, File>& files, const std::string& message) {
    git_index* index = nullptr;
    check_git(git_repository_index(&index, repo_), "index");
    check_git(git_index_clear(index), "clear index");
    for (const auto& [path, f] : files) {
      git_index_entry e{};
      e.mode = f.mode;
      e.path = path.c_str();
      if (f.mode == GIT_FILEMODE_COMMIT) {
        check_git(git_oid_fromstr(&e.id, "0123456789abcdef0123456789abcdef01234567"), "oid");
        check_git(git_index_add(index, &e), "add gitlink");
      } else {
        check_git(git_index_add_from_buffer(index, &e, f.data.data(), f.data.size()), "add");
      }
    }
    git_oid tree_id, commit_id;
    check_git(git_index_write_tree_to(&tree_id, index, repo_), "write tree");
    git_index_free(index);
    git_tree* tree = nullptr;
    check_git(git_tree_lookup(&tree, repo_, &tree_id), "tree");
    git_signature* sig = nullptr;
    check_git(git_signature_new(&sig, "Test", "test@example.com", 1700000000 + ++n_, 0), "sig");
    git_commit* parent = nullptr;
    git_oid head;
    const bool has_parent = git_reference_name_to_id(&head, repo_, "HEAD") == 0;
    if (has_parent) check_git(git_commit_lookup(&parent, repo_, &head), "parent");
    const git_commit* parents[] = {parent};
    check_git(git_commit_create(&commit_id, repo_, "HEAD", sig, sig, nullptr, message.c_str(), tree,
                                has_parent ? 1 : 0, parents),
              "commit");
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    return git_oid_tostr_s(&commit_id);
  }

  void branch(const std::string& name, const std::string& commit_hex) {
    git_reference* ref = nullptr;
    check_git(git_reference_create(&ref, repo_, ("refs/heads/" + name).c_str(), oid(commit_hex), 1,
                                   nullptr),
              "branch");
    git_reference_free(ref);
  }

  void delete_branch(const std::string& name) {
    git_reference* ref = nullptr;
    check_git(git_reference_lookup(&ref, repo_, ("refs/heads/" + name).c_str()), "lookup");
    check_git(git_reference_delete(ref), "delete");
    git_reference_free(ref);
  }

  void annotated_tag(const std::string& name, const std::string& commit_hex) {
    git_object* target = nullptr;
    check_git(git_object_lookup(&target, repo_, oid(commit_hex), GIT_OBJECT_COMMIT), "target");
    git_signature* sig = nullptr;
    check_git(git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0), "sig");
    git_oid tag_id;
    check_git(git_tag_create(&tag_id, repo_, name.c_str(), target, sig, "release", 0), "tag");
    git_signature_free(sig);
    git_object_free(target);
  }

 private:
  const git_oid* oid(const std::string& hex) {
    check_git(git_oid_fromstr(&oid_, hex.c_str()), "oid");
    return &oid_;
  }

  fs::path dir_;
  git_repository* repo_ = nullptr;
  git_oid oid_{};
  int n_ = 0;
};

// A repository with two commits on main, a branch "feature" and an annotated tag "v1.0" at
// the first, and a module in "modules/jq".
struct Fixture {
  Libgit2 lib;
  TempDir tmp{"cenv-git"};
  fs::path repo_dir = tmp.path() / "repo";
  fs::path cache = tmp.path() / "cache";
  TestRepo repo{repo_dir};
  std::string first, second;

  Fixture() {
    first = repo.commit({{"README", {"v1\n"}},
                         {"modules/jq/cenv-module.yaml", {"name: jq\nversion: 1.0.0\n"}},
                         {"modules/jq/install.sh", {"#!/bin/sh\n", GIT_FILEMODE_BLOB_EXECUTABLE}}},
                        "first");
    repo.branch("feature", first);
    repo.annotated_tag("v1.0", first);
    second = repo.commit({{"README", {"v2\n"}},
                          {"modules/jq/cenv-module.yaml", {"name: jq\nversion: 2.0.0\n"}},
                          {"modules/jq/install.sh", {"#!/bin/sh\n", GIT_FILEMODE_BLOB_EXECUTABLE}}},
                         "second");
  }
  std::string url() const { return "file://" + repo_dir.string(); }
};

}  // namespace

TEST_CASE("Libgit2Fetcher resolves a branch, a tag and commit ids", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  struct Row {
    std::string ref;
    std::string want_commit;
    std::string want_readme;
  };
  const std::vector<Row> rows = {
      {"main", f.second, "v2\n"},
      {"feature", f.first, "v1\n"},
      {"v1.0", f.first, "v1\n"},
      {f.first, f.first, "v1\n"},
      {f.second.substr(0, 7), f.second, "v2\n"},
      {"refs/tags/v1.0", f.first, "v1\n"},
  };
  for (const Row& r : rows) {
    INFO("ref: " << r.ref);
    auto got = fetcher.fetch({f.url(), r.ref, ""});
    REQUIRE(got.ok());
    CHECK(got->commit == r.want_commit);
    CHECK(got->files.files.size() == 3);
    CHECK(got->files.files.at("README").data == r.want_readme);
    CHECK(got->files.files.at("modules/jq/install.sh").executable);
    CHECK_FALSE(got->files.files.at("README").executable);
  }
}

TEST_CASE("Libgit2Fetcher reads a subdir and accepts a plain local path", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  auto got = fetcher.fetch({f.repo_dir.string(), "main", "/modules/jq/"});
  REQUIRE(got.ok());
  REQUIRE(got->files.files.size() == 2);
  CHECK(got->files.files.at("cenv-module.yaml").data == "name: jq\nversion: 2.0.0\n");
  CHECK(got->files.files.at("install.sh").executable);
}

TEST_CASE("Libgit2Fetcher keeps a 0700 mirror per URL", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  REQUIRE(fetcher.fetch({f.url(), "main", ""}).ok());
  const fs::path mirror = fetcher.mirror_path(f.url());
  CHECK(mirror.parent_path() == f.cache);
  CHECK(mirror.filename().string().size() == 16);
  REQUIRE(fs::is_directory(mirror / "objects"));
  CHECK(fs::status(mirror).permissions() == fs::perms::owner_all);
  CHECK(fs::status(f.cache).permissions() == fs::perms::owner_all);
}

TEST_CASE("Libgit2Fetcher sees a new commit on the next fetch", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  auto before = fetcher.fetch({f.url(), "main", ""});
  REQUIRE(before.ok());
  CHECK(before->commit == f.second);
  const std::string third = f.repo.commit({{"README", {"v3\n"}}}, "third");
  auto after = fetcher.fetch({f.url(), "main", ""});
  REQUIRE(after.ok());
  CHECK(after->commit == third);
  CHECK(after->files.files.size() == 1);
  CHECK(after->files.files.at("README").data == "v3\n");
  // A branch deleted upstream is gone from the mirror too.
  f.repo.delete_branch("feature");
  auto deleted = fetcher.fetch({f.url(), "feature", ""});
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.status().code() == Code::kNotFound);
}

TEST_CASE("Libgit2Fetcher serves concurrent fetches of one URL", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  std::vector<std::string> commits(4);
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < commits.size(); ++i) {
      threads.emplace_back([&, i] {
        auto got = fetcher.fetch({f.url(), i % 2 == 0 ? "main" : "v1.0", ""});
        commits[i] = got.ok() ? got->commit : got.status().message();
      });
    }
  }
  CHECK(commits == std::vector<std::string>{f.second, f.first, f.second, f.first});
}

TEST_CASE("Libgit2Fetcher names what is missing", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  SECTION("an unknown ref lists branches and tags") {
    auto got = fetcher.fetch({f.url(), "nope", ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kNotFound);
    CHECK(got.status().message() ==
          "git ref \"nope\" not found in " + f.url() + "; branches: feature, main; tags: v1.0");
  }
  SECTION("a missing subdir") {
    auto got = fetcher.fetch({f.url(), "main", "modules/nope"});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kNotFound);
    CHECK_THAT(got.status().message(),
               Catch::Contains(f.url()) && Catch::Contains("subdir \"modules/nope\" not found"));
  }
  SECTION("a subdir that is a file") {
    auto got = fetcher.fetch({f.url(), "main", "README"});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
  }
  SECTION("a repository that does not exist") {
    auto got = fetcher.fetch({"file:///nope/cenv-no-such-repo", "main", ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kUnavailable);
    CHECK_THAT(got.status().message(), Catch::StartsWith("git file:///nope/cenv-no-such-repo: "));
    CHECK_FALSE(fs::exists(fetcher.mirror_path("file:///nope/cenv-no-such-repo")));
  }
}

TEST_CASE("Libgit2Fetcher refuses bad specs", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  const std::vector<GitSourceSpec> rows = {
      {"", "main", ""},
      {f.url(), "", ""},
      {f.url(), "main", "../x"},
      {"ssh://git@example.com/repo.git", "main", ""},
      {"git@example.com:org/repo.git", "main", ""},
      {"ftp://example.com/repo.git", "main", ""},
  };
  for (const GitSourceSpec& s : rows) {
    INFO("url: " << s.url << " ref: " << s.ref << " subdir: " << s.subdir);
    auto got = fetcher.fetch(s);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
  }
  CHECK_FALSE(fs::exists(f.cache));  // refused before touching the cache
}

TEST_CASE("Libgit2Fetcher refuses symbolic links and submodules in the tree", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  SECTION("a symbolic link") {
    f.repo.commit({{"a", {"x"}}, {"link", {"/etc/passwd", GIT_FILEMODE_LINK}}}, "link");
    auto got = fetcher.fetch({f.url(), "main", ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
    CHECK_THAT(got.status().message(), Catch::Contains("\"link\" is a symbolic link"));
  }
  SECTION("a submodule") {
    f.repo.commit({{"a", {"x"}}, {"vendor/lib", {"", GIT_FILEMODE_COMMIT}}}, "submodule");
    auto got = fetcher.fetch({f.url(), "main", ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
    CHECK_THAT(got.status().message(), Catch::Contains("\"vendor/lib\" is a submodule"));
  }
}

TEST_CASE("Libgit2Fetcher enforces the tree limits", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher::Options opts;
  opts.limits.max_files = 2;
  Libgit2Fetcher fetcher(f.cache, opts);
  auto got = fetcher.fetch({f.url(), "main", ""});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kInvalid);
  CHECK_THAT(got.status().message(), Catch::Contains("more than 2 files"));
  // The same repository fits when only the subdir is read.
  CHECK(fetcher.fetch({f.url(), "main", "modules/jq"}).ok());
}

TEST_CASE("Libgit2Fetcher refuses an ambiguous abbreviated id", "[modules][git]") {
  Fixture f;
  // Enough blobs that two of them share their first 4 hex digits.
  std::map<std::string, TestRepo::File> files;
  for (int i = 0; i < 2000; ++i) files["f" + std::to_string(i)] = {std::to_string(i)};
  f.repo.commit(files, "many");
  Libgit2Fetcher fetcher(f.cache);
  REQUIRE(fetcher.fetch({f.url(), "main", ""}).ok());
  // Find a shared prefix among the blob ids.
  git_repository* mirror = nullptr;
  check_git(git_repository_open_bare(&mirror, fetcher.mirror_path(f.url()).c_str()), "open");
  std::map<std::string, int> prefixes;
  for (int i = 0; i < 2000; ++i) {
    git_oid id;
    const std::string data = std::to_string(i);
    check_git(git_odb_hash(&id, data.data(), data.size(), GIT_OBJECT_BLOB), "hash");
    ++prefixes[std::string(git_oid_tostr_s(&id)).substr(0, 4)];
  }
  git_repository_free(mirror);
  std::string shared;
  for (const auto& [p, n] : prefixes) {
    if (n > 1) shared = p;
  }
  REQUIRE_FALSE(shared.empty());
  auto got = fetcher.fetch({f.url(), shared, ""});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kInvalid);
  CHECK_THAT(got.status().message(), Catch::Contains("is ambiguous"));
}

TEST_CASE("Libgit2Fetcher gives up on a silent server at the deadline", "[modules][git]") {
  Fixture f;
  // A listening socket that never answers: the kernel accepts the connection, nobody reads.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url =
      "http://alice:s3cret@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/repo.git";

  Libgit2Fetcher::Options opts;
  opts.deadline = std::chrono::milliseconds(500);
  Libgit2Fetcher fetcher(f.cache, opts);
  const auto start = std::chrono::steady_clock::now();
  auto got = fetcher.fetch({url, "main", ""});
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kUnavailable);
  CHECK_THAT(got.status().message(), Catch::Contains("did not finish within 500 ms"));
  CHECK_THAT(got.status().message(),
             !Catch::Contains("s3cret") && Catch::Contains("***@127.0.0.1"));
  CHECK(took < std::chrono::seconds(5));
}

// An HTTP server on loopback that answers every request 401 (Basic) and keeps the
// Authorization headers it was sent.
class UnauthorizedServer {
 public:
  UnauthorizedServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~UnauthorizedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/repo.git"; }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(mu_);
    return authorizations_;
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
        while (request.find("\r\n\r\n") != std::string::npos) {
          const std::string head = request.substr(0, request.find("\r\n\r\n"));
          request.erase(0, head.size() + 4);
          const size_t at = head.find("Authorization: ");
          {
            std::lock_guard lock(mu_);
            authorizations_.push_back(at == std::string::npos
                                          ? ""
                                          : head.substr(at + 15, head.find("\r\n", at) - at - 15));
          }
          const std::string reply =
              "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n"
              "Content-Length: 0\r\n\r\n";
          [[maybe_unused]] ssize_t sent = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> authorizations_;  // guarded by mu_
};

TEST_CASE("Libgit2Fetcher offers its credentials once and never shows them", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  SECTION("none given: the error says the server asks for some") {
    UnauthorizedServer server;
    auto got = fetcher.fetch({server.url(), "main", ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kUnavailable);
    CHECK_THAT(got.status().message(), Catch::Contains("asks for credentials and none were given"));
  }
  SECTION("a token: sent once as the password of user \"git\", refused, not in the message") {
    UnauthorizedServer server;
    GitSourceSpec spec{server.url(), "main", ""};
    spec.credentials.token = "t0ken-s3cret";
    auto got = fetcher.fetch(spec);
    REQUIRE_FALSE(got.ok());
    CHECK_THAT(got.status().message(),
               Catch::Contains("refused the credentials") && !Catch::Contains("t0ken-s3cret"));
    std::vector<std::string> sent = server.authorizations();
    // base64("git:t0ken-s3cret")
    CHECK(std::count(sent.begin(), sent.end(), "Basic Z2l0OnQwa2VuLXMzY3JldA==") == 1);
  }
}

TEST_CASE("Libgit2Fetcher takes ssh URLs only with a private key", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher fetcher(f.cache);
  auto got = fetcher.fetch({"git@example.com:org/repo.git", "main", ""});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kInvalid);
  CHECK_THAT(got.status().message(), Catch::Contains("ssh needs a private key"));
}

TEST_CASE("redact_url hides userinfo only", "[modules][git]") {
  CHECK(redact_url("https://user:pw@example.com/r.git") == "https://***@example.com/r.git");
  CHECK(redact_url("https://token@example.com/r.git?x=a@b") ==
        "https://***@example.com/r.git?x=a@b");
  CHECK(redact_url("https://example.com/a@b") == "https://example.com/a@b");
  CHECK(redact_url("/srv/repo") == "/srv/repo");
}

TEST_CASE("Libgit2Fetcher evicts mirrors unused for longer than the limit", "[modules][git]") {
  Fixture f;
  Libgit2Fetcher::Options opts;
  opts.unused_mirror_age = std::chrono::hours(24);
  Libgit2Fetcher fetcher(f.cache, opts);
  REQUIRE(fetcher.fetch({f.url(), "main", ""}).ok());
  const fs::path mirror = fetcher.mirror_path(f.url());
  const fs::path lock_file = mirror.string() + ".lock";
  REQUIRE(fs::is_directory(mirror));
  const auto now = fs::file_time_type::clock::now();
  // Used just now: kept.
  CHECK(fetcher.evict_unused_mirrors(now) == 0);
  CHECK(fs::is_directory(mirror));
  // Unused for two days: removed, the lock file kept; the next fetch clones it again.
  fs::last_write_time(lock_file, now - std::chrono::hours(48));
  CHECK(fetcher.evict_unused_mirrors(now) == 1);
  CHECK_FALSE(fs::exists(mirror));
  CHECK(fs::exists(lock_file));
  auto again = fetcher.fetch({f.url(), "main", ""});
  REQUIRE(again.ok());
  CHECK(again->commit == f.second);
  CHECK(fs::is_directory(mirror));
  // A fetch stamps it, so it is no longer old.
  CHECK(fs::last_write_time(lock_file) > now - std::chrono::hours(1));
}
