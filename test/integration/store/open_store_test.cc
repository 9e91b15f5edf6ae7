#include "controller/store/open_store.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "controller/store/postgres_store.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"
#include "test/integration/store/postgres_server.h"
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

TEST_CASE("open_store opens SQLite for sqlite:PATH and for a bare path", "[store][open_store]") {
  TempDir dir("cenv-open-store");
  FakeClock clock(suite_time());
  const std::string file = (dir.path() / "cenv.db").string();
  struct Row {
    std::string url;
    std::string path;
  };
  const std::vector<Row> rows = {
      {"sqlite:" + file, file},
      {file, file},
      {"sqlite::memory:", ":memory:"},
      {":memory:", ":memory:"},
  };
  for (const Row& row : rows) {
    INFO(row.url);
    auto store = must(open_store(row.url, clock));
    auto* sqlite = dynamic_cast<SqliteStore*>(store.get());
    REQUIRE(sqlite != nullptr);
    CHECK(sqlite->path() == row.path);
  }
  // Both forms name the same file.
  { must(must(open_store("sqlite:" + file, clock))->create(service("web"))); }
  CHECK(must(must(open_store(file, clock))->revision()) == 1);
}

TEST_CASE("open_store opens PostgreSQL for postgres:// and postgresql:// URIs",
          "[store][open_store][postgres]") {
  auto& server = testing::postgres_server();
  testing::TestDatabase db(server);
  FakeClock clock(suite_time());
  const std::string rest = "postgres@127.0.0.1:" + std::to_string(server.port()) + "/" + db.name();
  for (const std::string& url :
       {"postgres://" + rest, "postgresql://" + rest, "POSTGRES://" + rest}) {
    INFO(url);
    auto store = must(open_store(url, clock));
    REQUIRE(dynamic_cast<PostgresStore*>(store.get()) != nullptr);
    CHECK(must(store->revision()) == 0);
  }
}

TEST_CASE("open_store rejects other URLs naming the accepted forms", "[store][open_store]") {
  FakeClock clock(suite_time());
  for (const std::string url :
       {"", "sqlite:", "mysql://u:Sup3rSecret@db/cenv", "http://db/cenv", "postgres:/db",
        "etcd:foo", "host=db dbname=cenv password=Sup3rSecret"}) {
    INFO(url);
    auto r = open_store(url, clock);
    REQUIRE(r.status().code() == Code::kInvalid);
    CHECK_THAT(r.status().message(), Catch::Contains("sqlite:PATH"));
    CHECK_THAT(r.status().message(), Catch::Contains("postgres://"));
    CHECK_THAT(r.status().message(), !Catch::Contains("Sup3rSecret"));
  }
}

TEST_CASE("open_store reports the engine's own failure", "[store][open_store]") {
  TempDir dir("cenv-open-store");
  FakeClock clock(suite_time());
  auto r = open_store("sqlite:" + (dir.path() / "missing" / "cenv.db").string(), clock);
  CHECK(r.status().code() == Code::kUnavailable);
}

TEST_CASE("describe_store_url names the engine and masks passwords", "[store][open_store]") {
  struct Row {
    std::string in, out;
  };
  const std::vector<Row> rows = {
      {"sqlite:/var/lib/cenv/cenv.db", "sqlite:/var/lib/cenv/cenv.db"},
      {"/var/lib/cenv/cenv.db", "sqlite:/var/lib/cenv/cenv.db"},
      {"cenv.db", "sqlite:cenv.db"},
      {"postgres://cenv:Sup3rSecret@db:5432/cenv", "postgres://cenv:***@db:5432/cenv"},
      {"postgresql://cenv@db/cenv?password=Sup3rSecret", "postgresql://cenv@db/cenv?password=***"},
      {"mysql://cenv:Sup3rSecret@db/cenv", "mysql://cenv:***@db/cenv"},
      {"host=db password=Sup3rSecret", "host=db password=***"},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    CHECK(describe_store_url(row.in) == row.out);
  }
}

}  // namespace
}  // namespace cenv
