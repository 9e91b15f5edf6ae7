#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "test/temp_dir.h"
#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;
using testing::must;
using testing::service;
using testing::suite_time;

using testing::TempDir;

std::unique_ptr<SqliteStore> open_sqlite(const fs::path& file, const Clock& clock,
                                         SqliteStoreOptions options = {}) {
  return testing::must(SqliteStore::open(file.string(), clock, std::move(options)));
}

// A database in its own temp dir; the dir goes when the last copy of the opener goes.
testing::StoreOpener make_sqlite_database() {
  auto dir = std::make_shared<TempDir>("cenv-store");
  return [dir](const Clock& clock) -> std::unique_ptr<Store> {
    return open_sqlite(dir->path() / "cenv.db", clock);
  };
}

// Runs one SQL statement returning one text or integer value, on a separate connection.
std::string query_text(const fs::path& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST_CASE("SqliteStore behaves as a Store", "[store][sqlite]") {
  testing::run_store_suite(make_sqlite_database);
}

TEST_CASE("SqliteStore uses WAL and records its schema version", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  must(store->create(service("web")));
  CHECK(query_text(dir.path() / "cenv.db", "PRAGMA journal_mode") == "wal");
  CHECK(query_text(dir.path() / "cenv.db", "PRAGMA user_version") ==
        std::to_string(kSqliteSchemaVersion));
  CHECK(query_text(dir.path() / "cenv.db",
                   "SELECT uid || ' ' || revision || ' ' || ifnull(labels, '-') FROM objects") ==
        std::string(must(store->get(service("web").key())).uid()) + " 1 -");
  CHECK(query_text(dir.path() / "cenv.db", "SELECT type FROM events") == "ADDED");
}

TEST_CASE("SqliteStore checkpoints its WAL in the background and so keeps the WAL small",
          "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  SqliteStoreOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(5);
  auto store = open_sqlite(dir.path() / "cenv.db", clock, options);
  const std::string spec = R"({"image":")" + std::string(2000, 'x') + R"("})";
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < 30; ++i) {
      must(store->create(service("s" + std::to_string(round) + "-" + std::to_string(i), spec)));
    }
    // A checkpoint that started after these commits: the next commit restarts the WAL.
    const int64_t before = store->checkpoints();
    for (int k = 0; k < 1000 && store->checkpoints() < before + 2; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(store->checkpoints() >= before + 2);
  }
  // ~8 MB went through the WAL (1,800 objects of 2 kB and their events). Restarted after every
  // round, it never held more than one round (~0.5 MB); commits that checkpointed themselves
  // (SQLite's default, at 1,000 pages) would have let it grow to 4 MB.
  CHECK(fs::file_size(dir.path() / "cenv.db-wal") < 2 * 1024 * 1024);
  ListOptions services;
  services.kind = "Service";
  CHECK(must(store->list(services)).items.size() == 1800);
}

// The permission bits of `file` (0 when it does not exist, which fails the checks below).
unsigned mode_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Sets the process's umask for one test and puts the old one back.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

TEST_CASE("SqliteStore creates its database, WAL and shared memory file for its owner only",
          "[store][sqlite]") {
  // The usual umask, which leaves files SQLite creates itself 0644.
  Umask umask(022);
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  const fs::path db = dir.path() / "cenv.db";
  auto store = open_sqlite(db, clock);
  must(store->create(service("web")));
  // The WAL and the shared memory file exist while the store is open.
  CHECK(mode_of(db) == 0600);
  CHECK(mode_of(dir.path() / "cenv.db-wal") == 0600);
  CHECK(mode_of(dir.path() / "cenv.db-shm") == 0600);
}

TEST_CASE("SqliteStore leaves the mode of an existing database as it is", "[store][sqlite]") {
  Umask umask(022);
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  const fs::path db = dir.path() / "cenv.db";
  { must(open_sqlite(db, clock)->create(service("web"))); }
  // A mode chosen for an existing database is kept, neither widened nor narrowed; the WAL and
  // shared memory files follow it.
  for (unsigned mode : {0600u, 0640u}) {
    CAPTURE(mode);
    fs::permissions(db, static_cast<fs::perms>(mode));
    auto store = open_sqlite(db, clock);
    must(store->create(service("web-" + std::to_string(mode))));
    CHECK(mode_of(db) == mode);
    CHECK(mode_of(dir.path() / "cenv.db-wal") == mode);
    CHECK(mode_of(dir.path() / "cenv.db-shm") == mode);
  }
}

TEST_CASE("SqliteStore stores labels beside the object", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  must(store->create(service("web", R"({})", R"({"app":"web"})")));
  CHECK(query_text(dir.path() / "cenv.db", "SELECT labels FROM objects") == R"({"app":"web"})");
}

TEST_CASE("SqliteStore::get_many_into builds the objects from the storage it is given",
          "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  Object web = must(store->create(service("web")));
  boost::json::storage_ptr arena = JsonArena::make();
  std::vector<ObjectKey> keys = {web.key()};
  auto got = must(store->get_many_into(keys, arena));
  REQUIRE(got[0].has_value());
  CHECK(*got[0] == web);
  CHECK(got[0]->json().storage().get() == arena.get());
  CHECK(must(store->get_many(keys))[0]->json().storage().get() != arena.get());
}

TEST_CASE("SqliteStore::get_many words a corrupt row as get does", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  Object web = must(store->create(service("web")));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir.path() / "cenv.db").string().c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE objects SET data = '[1'", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  std::vector<ObjectKey> keys = {web.key()};
  Status one = store->get(web.key()).status();
  REQUIRE(one.code() == Code::kInternal);
  CHECK(one.message().starts_with("Service default/web: sqlite: corrupt row in objects: "));
  for (const Status& many :
       {store->get_many(keys).status(), store->get_many_into(keys, JsonArena::make()).status()}) {
    CHECK(many.code() == one.code());
    CHECK(many.message() == one.message());
  }
  // The read transaction was closed: the store still writes.
  must(store->create(service("db")));
}

TEST_CASE("SqliteStore opens an existing database again without migrating twice",
          "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  { must(open_sqlite(dir.path() / "cenv.db", clock)->create(service("web"))); }
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  CHECK(must(store->revision()) == 1);
}

TEST_CASE("SqliteStore refuses a database from a newer cenv", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  { open_sqlite(dir.path() / "cenv.db", clock); }
  query_text(dir.path() / "cenv.db", "PRAGMA user_version = 99");
  auto r = SqliteStore::open((dir.path() / "cenv.db").string(), clock);
  REQUIRE(r.status().code() == Code::kFailedPrecondition);
  CHECK_THAT(r.status().message(), Catch::Contains("schema version 99"));
}

TEST_CASE("SqliteStore reports a file it cannot open as Unavailable", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto r = SqliteStore::open((dir.path() / "missing-dir" / "cenv.db").string(), clock);
  REQUIRE(r.status().code() == Code::kUnavailable);
  CHECK_THAT(r.status().message(), Catch::Contains("missing-dir"));
}

TEST_CASE("SqliteStore works in memory", "[store][sqlite]") {
  FakeClock clock(suite_time());
  auto store = must(SqliteStore::open(":memory:", clock));
  must(store->create(service("web")));
  CHECK(must(store->get(service("web").key())).resource_version() == 1);
}

TEST_CASE("SqliteStore compacts history past auto_compact_keep plus 10%", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  SqliteStoreOptions options;
  options.auto_compact_keep = 10;
  auto store = open_sqlite(dir.path() / "cenv.db", clock, options);
  for (int i = 0; i < 11; ++i) must(store->create(service("s" + std::to_string(i))));
  CHECK(must(store->compacted_revision()) == 0);  // 11 events: within 10 + 10%
  must(store->create(service("s11")));
  CHECK(must(store->compacted_revision()) == 2);  // 12 events: back to the newest 10
  CHECK(must(store->events_since(2, 100)).size() == 10);
  CHECK(store->events_since(1, 100).status().code() == Code::kGone);
}

TEST_CASE("SqliteStore uses the injected uid generator", "[store][sqlite]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  SqliteStoreOptions options;
  int n = 0;
  options.uid_generator = [&n] { return "uid-" + std::to_string(++n); };
  auto store = open_sqlite(dir.path() / "cenv.db", clock, options);
  CHECK(must(store->create(service("a"))).uid() == "uid-1");
  CHECK(must(store->create(service("b"))).uid() == "uid-2");
}

TEST_CASE("SqliteStore creates 10,000 objects in one commit quickly", "[.bench]") {
  TempDir dir("cenv-store");
  FakeClock clock(suite_time());
  auto store = open_sqlite(dir.path() / "cenv.db", clock);
  constexpr int kObjects = 10000;
  std::vector<Write> writes;
  writes.reserve(kObjects);
  for (int i = 0; i < kObjects; ++i) {
    writes.push_back(
        {WriteOp::kCreate,
         testing::make_object("Service", "default", "svc-" + std::to_string(i),
                              R"({"image":"nginx:1.25","ports":[{"containerPort":80}]})",
                              R"({"app":"web","tier":"front"})")});
  }
  // Wall time depends on the machine's load; CPU time of this (single-threaded) commit less so.
  const std::clock_t cpu_start = std::clock();
  auto start = std::chrono::steady_clock::now();
  auto out = must(store->commit(writes));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_secs = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  REQUIRE(out.size() == kObjects);
  WARN("CPU time: " << cpu_secs * 1000 << " ms = " << static_cast<int64_t>(kObjects / cpu_secs)
                    << " objects per CPU second");
  WARN("10,000 creates in one commit: " << secs * 1000 << " ms = "
                                        << static_cast<int64_t>(kObjects / secs) << " objects/s");

  start = std::chrono::steady_clock::now();
  auto list = must(store->list({"Service", "default", {}}));
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(list.items.size() == kObjects);
  WARN("list of 10,000: " << secs * 1000 << " ms");

  start = std::chrono::steady_clock::now();
  constexpr int kSingle = 2000;
  for (int i = 0; i < kSingle; ++i) {
    must(store->create(testing::make_object("Module", "default", "m-" + std::to_string(i))));
  }
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("2,000 single-object commits: " << static_cast<int64_t>(kSingle / secs) << " commits/s");
}

}  // namespace
}  // namespace cenv
