#include "controller/store/postgres_store.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test/fakes/fake_clock.h"
#include "test/integration/store/postgres_server.h"
#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::FakeClock;
using testing::must;
using testing::must_ok;
using testing::postgres_server;
using testing::pq;
using testing::service;
using testing::suite_time;
using testing::TestDatabase;

std::unique_ptr<PostgresStore> open_postgres(const std::string& url, const Clock& clock,
                                             PostgresStoreOptions options = {}) {
  return must(PostgresStore::open(url, clock, std::move(options)));
}

// A fresh database on the private server; dropped when the last copy of the opener goes.
testing::StoreOpener make_postgres_database() {
  auto db = std::make_shared<TestDatabase>(postgres_server());
  return [db](const Clock& clock) -> std::unique_ptr<Store> {
    return open_postgres(db->url(), clock);
  };
}

// Restarts the private server when the test that stopped it ends, however it ends.
struct RestartServerAtEnd {
  ~RestartServerAtEnd() {
    if (!postgres_server().running()) {
      std::string err = postgres_server().start();
      if (!err.empty()) FAIL_CHECK("cannot restart PostgreSQL: " << err);
    }
  }
};

TEST_CASE("PostgresStore behaves as a Store", "[store][postgres]") {
  testing::run_store_suite(make_postgres_database);
}

TEST_CASE("PostgresStore records its schema version and stores rows as SqliteStore does",
          "[store][postgres]") {
  auto& server = postgres_server();
  TestDatabase db(server);
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url(), clock);
  Object web = must(store->create(service("web", R"({})", R"({"app":"web"})")));
  must(store->create(service("api")));

  CHECK(server.query(db.name(), "SELECT version FROM schema_version") ==
        std::to_string(kPostgresSchemaVersion));
  CHECK(server.query(db.name(), "SELECT count(*) FROM schema_version") == "1");
  CHECK(server.query(db.name(),
                     "SELECT uid || ' ' || revision || ' ' || coalesce(labels, '-') FROM objects "
                     "WHERE name = 'web'") == std::string(web.uid()) + " 1 {\"app\":\"web\"}");
  CHECK(server.query(db.name(), "SELECT coalesce(labels, '-') FROM objects WHERE name = 'api'") ==
        "-");
  CHECK(server.query(db.name(),
                     "SELECT string_agg(type || ' ' || name, ',' ORDER BY revision) "
                     "FROM events") == "ADDED web,ADDED api");
  CHECK(server.query(db.name(), "SELECT value FROM meta WHERE key = 'revision'") == "2");
  CHECK(server.query(db.name(), "SELECT data FROM objects WHERE name = 'web'") == web.to_json());
}

TEST_CASE("PostgresStore opens an existing database again without migrating twice",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  { must(open_postgres(db.url(), clock)->create(service("web"))); }
  auto store = open_postgres(db.url(), clock);
  CHECK(must(store->revision()) == 1);
  CHECK(postgres_server().query(db.name(), "SELECT count(*) FROM schema_version") == "1");
}

TEST_CASE("PostgresStore opens a fresh database from several processes at once",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  constexpr int kOpeners = 6;
  std::vector<std::future<Result<std::unique_ptr<PostgresStore>>>> opens;
  for (int i = 0; i < kOpeners; ++i) {
    opens.push_back(
        std::async(std::launch::async, [&] { return PostgresStore::open(db.url(), clock); }));
  }
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (auto& f : opens) stores.push_back(must(f.get()));
  must(stores[0]->create(service("web")));
  CHECK(must(stores[kOpeners - 1]->get(service("web").key())).resource_version() == 1);
}

TEST_CASE("PostgresStore refuses a database from a newer cenv", "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  { open_postgres(db.url(), clock); }
  REQUIRE(postgres_server().exec(db.name(), "UPDATE schema_version SET version = 99").empty());
  auto r = PostgresStore::open(db.url(), clock);
  REQUIRE(r.status().code() == Code::kFailedPrecondition);
  CHECK_THAT(r.status().message(), Catch::Contains("schema version 99"));
}

TEST_CASE("PostgresStore compacts history past auto_compact_keep plus 10%", "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  PostgresStoreOptions options;
  options.auto_compact_keep = 10;
  auto store = open_postgres(db.url(), clock, options);
  for (int i = 0; i < 11; ++i) must(store->create(service("s" + std::to_string(i))));
  CHECK(must(store->compacted_revision()) == 0);  // 11 events: within 10 + 10%
  must(store->create(service("s11")));
  CHECK(must(store->compacted_revision()) == 2);  // 12 events: back to the newest 10
  CHECK(must(store->events_since(2, 100)).size() == 10);
  CHECK(store->events_since(1, 100).status().code() == Code::kGone);
  CHECK(postgres_server().query(db.name(), "SELECT count(*) FROM events") == "10");
}

TEST_CASE("PostgresStore uses the injected uid generator", "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  PostgresStoreOptions options;
  std::atomic<int> n{0};
  options.uid_generator = [&n] { return "uid-" + std::to_string(++n); };
  auto store = open_postgres(db.url(), clock, options);
  CHECK(must(store->create(service("a"))).uid() == "uid-1");
  CHECK(must(store->create(service("b"))).uid() == "uid-2");
}

TEST_CASE("PostgresStore keeps keys that need escaping and orders them bytewise",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url(), clock);
  // Quotes, backslashes, braces, commas and non-ASCII survive the array parameters.
  const std::vector<std::string> names = {"B", "a", "a\"b", "a\\b", "{x,y}", "NULL", "é", "a b"};
  std::vector<Write> writes;
  for (const std::string& name : names) {
    writes.push_back({WriteOp::kCreate, testing::make_object("Service", "default", name,
                                                             R"({"note":"it's \"quoted\" \\ ok"})",
                                                             R"({"k":"v,\"w\""})")});
  }
  must(store->commit(writes));
  for (const std::string& name : names) {
    Object o = must(store->get({"Service", "default", name}));
    CHECK(o.name() == name);
    CHECK(o.spec().at("note") == "it's \"quoted\" \\ ok");
  }
  std::vector<std::string> expected;
  for (const std::string& name : names) expected.push_back("default/" + name);
  std::sort(expected.begin(), expected.end());  // byte order, as SQLite
  CHECK(testing::names_of(must(store->list({"Service", "", {}}))) == expected);
  CHECK(must(store->list({"Service", "", must(LabelSelector::parse("k"))})).items.size() ==
        names.size());
}

TEST_CASE("PostgresStore applies a batch touching one object several times", "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url(), clock);
  must(store->create(service("old")));
  std::vector<Write> writes = {
      {WriteOp::kCreate, service("web")},
      {WriteOp::kUpdate, service("web", R"({"image":"nginx:2"})")},
      {WriteOp::kDelete, service("old")},
      {WriteOp::kCreate, service("old", R"({"image":"reborn"})")},
      {WriteOp::kCreate, service("tmp")},
      {WriteOp::kDelete, service("tmp")},
  };
  auto out = must(store->commit(writes));
  REQUIRE(out.size() == 6);
  CHECK(out[1].resource_version() == 3);
  CHECK(must(store->get(service("web").key())) == out[1]);
  CHECK(must(store->get(service("old").key())) == out[3]);
  CHECK(store->get(service("tmp").key()).status().code() == Code::kNotFound);
  CHECK(must(store->revision()) == 7);
  CHECK(testing::describe(must(store->events_since(1, 100))) ==
        std::vector<std::string>{"2 ADDED web", "3 MODIFIED web", "4 DELETED old", "5 ADDED old",
                                 "6 ADDED tmp", "7 DELETED tmp"});
  // The objects table holds each key's final state.
  CHECK(postgres_server().query(db.name(),
                                "SELECT string_agg(name || '@' || revision, ',' "
                                "ORDER BY name) FROM objects") == "old@5,web@3");
}

TEST_CASE("Two PostgresStores on one database keep revisions unique and lose no update",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  // Two "controllers": separate stores, separate connection pools, one database.
  std::unique_ptr<PostgresStore> stores[2] = {open_postgres(db.url(), clock),
                                              open_postgres(db.url(), clock)};
  must(stores[0]->create(service("counter", R"({"count":0})")));

  constexpr int kThreads = 8;
  constexpr int kIncrements = 100;
  std::mutex mu;
  std::vector<int64_t> revisions;  // guarded by mu
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  std::string first_failure;  // guarded by mu
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Store& store = *stores[t % 2];
        int64_t last = 0;
        for (int done = 0; done < kIncrements;) {
          auto current = store.get({"Service", "default", "counter"});
          if (!current.ok()) {
            std::lock_guard lock(mu);
            first_failure = current.status().to_string();
            ++failures;
            return;
          }
          Object next = std::move(current).value();
          next.spec()["count"] = testing::count_of(next) + 1;
          auto r = store.update(next);
          if (r.ok()) {
            ++done;
            // Each thread sees its own updates in increasing revision order.
            if (r->resource_version() <= last) ++failures;
            last = r->resource_version();
            std::lock_guard lock(mu);
            revisions.push_back(last);
          } else if (r.status().code() == Code::kConflict) {
            ++conflicts;
          } else {
            std::lock_guard lock(mu);
            first_failure = r.status().to_string();
            ++failures;
            return;
          }
        }
      });
    }
  }
  INFO("first failure: " << first_failure << "; conflicts retried: " << conflicts.load());
  CHECK(failures == 0);
  REQUIRE(revisions.size() == kThreads * kIncrements);
  std::set<int64_t> unique(revisions.begin(), revisions.end());
  CHECK(unique.size() == revisions.size());
  CHECK(*unique.begin() == 2);
  CHECK(*unique.rbegin() == 1 + kThreads * kIncrements);  // gap-free: 2..801

  Object counter = must(stores[1]->get({"Service", "default", "counter"}));
  CHECK(testing::count_of(counter) == kThreads * kIncrements);
  CHECK(counter.resource_version() == 1 + kThreads * kIncrements);
  CHECK(must(stores[0]->revision()) == 1 + kThreads * kIncrements);
  auto events = must(stores[0]->events_since(0, 10000));
  REQUIRE(events.size() == 1 + kThreads * kIncrements);
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].revision == static_cast<int64_t>(i) + 1);
    if (i > 0) CHECK(testing::count_of(events[i].object) == static_cast<int64_t>(i));
  }
}

TEST_CASE("Concurrent batches from two PostgresStores take contiguous revisions",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  std::unique_ptr<PostgresStore> stores[2] = {open_postgres(db.url(), clock),
                                              open_postgres(db.url(), clock)};
  constexpr int kThreads = 4;
  constexpr int kBatches = 25;
  constexpr int kBatchSize = 5;
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int b = 0; b < kBatches; ++b) {
          std::vector<Write> writes;
          for (int i = 0; i < kBatchSize; ++i) {
            writes.push_back(
                {WriteOp::kCreate, service("t" + std::to_string(t) + "-b" + std::to_string(b) +
                                           "-" + std::to_string(i))});
          }
          auto out = stores[t % 2]->commit(writes);
          if (!out.ok()) {
            ++failures;
            continue;
          }
          // One commit's revisions are consecutive: nobody else's write lands in between.
          for (int i = 1; i < kBatchSize; ++i) {
            if ((*out)[i].resource_version() != (*out)[0].resource_version() + i) ++failures;
          }
        }
      });
    }
  }
  CHECK(failures == 0);
  constexpr int kTotal = kThreads * kBatches * kBatchSize;
  CHECK(must(stores[1]->revision()) == kTotal);
  auto events = must(stores[1]->events_since(0, 10000));
  REQUIRE(events.size() == kTotal);
  for (int i = 0; i < kTotal; ++i) CHECK(events[i].revision == i + 1);
  CHECK(must(stores[0]->list({"Service", "default", {}})).items.size() == kTotal);
}

TEST_CASE("PostgresStore reads do not wait behind a commit waiting for the revision lock",
          "[store][postgres]") {
  auto& server = postgres_server();
  TestDatabase db(server);
  FakeClock clock(suite_time());
  PostgresStoreOptions options;
  options.lock_timeout = std::chrono::seconds(60);
  auto store = open_postgres(db.url(), clock, options);
  must(store->create(service("web")));

  // Another "controller" holds the revision lock in an open transaction.
  PGconn* holder = pq().PQconnectdb(db.url().c_str());
  REQUIRE(pq().PQstatus(holder) == CONNECTION_OK);
  pq().PQclear(
      pq().PQexec(holder, "BEGIN; SELECT value FROM meta WHERE key = 'revision' FOR UPDATE"));
  REQUIRE(pq().PQtransactionStatus(holder) == PQTRANS_INTRANS);

  auto blocked = std::async(std::launch::async, [&] { return store->create(service("api")); });
  // Wait until the commit is queued on the lock.
  for (int i = 0; i < 600; ++i) {
    if (server.query(db.name(), "SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                    db.name() + "' AND wait_event_type = 'Lock'") == "1") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(blocked.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  // Reads go on through the pool's other connections.
  CHECK(must(store->get(service("web").key())).resource_version() == 1);
  CHECK(must(store->list({"Service", "", {}})).items.size() == 1);
  CHECK(must(store->revision()) == 1);

  pq().PQclear(pq().PQexec(holder, "COMMIT"));
  pq().PQfinish(holder);
  CHECK(must(blocked.get()).resource_version() == 2);
}

TEST_CASE("PostgresStore gives up on the revision lock after lock_timeout with Unavailable",
          "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  PostgresStoreOptions options;
  options.lock_timeout = std::chrono::milliseconds(200);
  auto store = open_postgres(db.url(), clock, options);
  PGconn* holder = pq().PQconnectdb(db.url().c_str());
  REQUIRE(pq().PQstatus(holder) == CONNECTION_OK);
  pq().PQclear(
      pq().PQexec(holder, "BEGIN; SELECT value FROM meta WHERE key = 'revision' FOR UPDATE"));
  auto r = store->create(service("web"));
  pq().PQclear(pq().PQexec(holder, "ROLLBACK"));
  pq().PQfinish(holder);
  REQUIRE(r.status().code() == Code::kUnavailable);
  CHECK_THAT(r.status().message(), Catch::Contains("lock timeout"));
  // Nothing was written and the connection is usable again.
  CHECK(must(store->revision()) == 0);
  CHECK(must(store->create(service("web"))).resource_version() == 1);
}

TEST_CASE("PostgresStore never shows the password in its errors", "[store][postgres]") {
  FakeClock clock(suite_time());
  // Nothing listens on this port (the server's own port plus one is not ours either, so
  // take a fresh free one).
  int closed_port = 0;
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    closed_port = ntohs(addr.sin_port);
    close(fd);
  }
  const std::string url = "postgres://cenv:Sup3rSecret@127.0.0.1:" + std::to_string(closed_port) +
                          "/cenv?connect_timeout=2";
  auto r = PostgresStore::open(url, clock);
  REQUIRE(r.status().code() == Code::kUnavailable);
  CHECK_THAT(r.status().message(), !Catch::Contains("Sup3rSecret"));
  CHECK_THAT(r.status().message(), Catch::Contains("postgres://cenv:***@127.0.0.1"));
  CHECK_THAT(r.status().message(), Catch::Contains("refused"));

  auto bad = PostgresStore::open("postgres://cenv:Sup3rSecret@127.0.0.1:notaport/cenv", clock);
  REQUIRE(bad.status().code() == Code::kInvalid);
  CHECK_THAT(bad.status().message(), !Catch::Contains("Sup3rSecret"));

  auto bad_kv = PostgresStore::open("host=127.0.0.1 password=Sup3rSecret nonsense", clock);
  REQUIRE(bad_kv.status().code() == Code::kInvalid);
  CHECK_THAT(bad_kv.status().message(), !Catch::Contains("Sup3rSecret"));

  // A working store with a password in its URL (trust auth ignores it) shows it masked.
  TestDatabase db(postgres_server());
  auto store = open_postgres(db.url("Sup3rSecret"), clock);
  CHECK_THAT(store->url(), !Catch::Contains("Sup3rSecret"));
  CHECK_THAT(store->url(), Catch::Contains("postgres:***@"));
}

TEST_CASE("PostgresStore opens a key=value connection string", "[store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  auto store = open_postgres("host=127.0.0.1 port=" + std::to_string(postgres_server().port()) +
                                 " user=postgres dbname=" + db.name() + " password=x",
                             clock);
  CHECK(must(store->create(service("web"))).resource_version() == 1);
  CHECK(store->url().find("password=***") != std::string::npos);
}

TEST_CASE("PostgresStore is Unavailable while the server is down and recovers after a restart",
          "[store][postgres]") {
  auto& server = postgres_server();
  TestDatabase db(server);
  RestartServerAtEnd restart;  // destroyed before db, so the database can be dropped
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url("Sup3rSecret"), clock);
  Object web = must(store->create(service("web")));
  must(store->list({"Service", "", {}}));  // more than one pooled connection in use

  server.stop();
  auto get = store->get(web.key());
  REQUIRE(get.status().code() == Code::kUnavailable);
  CHECK_THAT(get.status().message(), Catch::StartsWith("Service default/web: postgres: "));
  CHECK_THAT(get.status().message(), !Catch::Contains("Sup3rSecret"));
  auto create = store->create(service("api"));
  REQUIRE(create.status().code() == Code::kUnavailable);
  CHECK_THAT(create.status().message(), Catch::Contains("refused"));
  CHECK(store->list({"Service", "", {}}).status().code() == Code::kUnavailable);
  CHECK(store->events_since(0, 10).status().code() == Code::kUnavailable);
  CHECK(store->revision().status().code() == Code::kUnavailable);
  CHECK(store->compact(1).code() == Code::kUnavailable);
  auto reopen = PostgresStore::open(db.url("Sup3rSecret"), clock);
  REQUIRE(reopen.status().code() == Code::kUnavailable);
  CHECK_THAT(reopen.status().message(), !Catch::Contains("Sup3rSecret"));

  REQUIRE(server.start().empty());
  // The first calls after the restart succeed: stale connections are reset, not reported.
  CHECK(must(store->get(web.key())) == web);
  CHECK(must(store->create(service("api"))).resource_version() == 2);
  CHECK(must(store->list({"Service", "", {}})).items.size() == 2);
  CHECK(must(store->revision()) == 2);
}

TEST_CASE("PostgresStore recovers when the server restarts between calls", "[store][postgres]") {
  auto& server = postgres_server();
  TestDatabase db(server);
  RestartServerAtEnd restart;
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url(), clock);
  must(store->create(service("web")));
  server.stop();
  REQUIRE(server.start().empty());
  // No call saw the outage; every pooled connection is stale now.
  CHECK(must(store->revision()) == 1);
  CHECK(must(store->create(service("api"))).resource_version() == 2);
}

TEST_CASE("PostgresStore creates 10,000 objects in one commit quickly",
          "[.bench][store][postgres]") {
  TestDatabase db(postgres_server());
  FakeClock clock(suite_time());
  auto store = open_postgres(db.url(), clock);
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
  auto start = std::chrono::steady_clock::now();
  auto out = must(store->commit(writes));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(out.size() == kObjects);
  WARN("10,000 creates in one commit: " << secs * 1000 << " ms = "
                                        << static_cast<int64_t>(kObjects / secs) << " objects/s");
  CHECK(kObjects / secs >= 2000);

  start = std::chrono::steady_clock::now();
  auto list = must(store->list({"Service", "default", {}}));
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(list.items.size() == kObjects);
  WARN("list of 10,000: " << secs * 1000 << " ms");

  start = std::chrono::steady_clock::now();
  std::vector<Write> updates;
  for (Object& o : list.items) {
    o.spec()["image"] = "nginx:1.26";
    updates.push_back({WriteOp::kUpdate, std::move(o)});
  }
  must(store->commit(updates));
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("10,000 updates in one commit: " << static_cast<int64_t>(kObjects / secs) << " objects/s");

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
