#pragma once
// The behaviour every Store engine must show (store.h, write_semantics.h), as one reusable
// suite: an engine's test calls run_store_suite() from a TEST_CASE with a factory of fresh
// databases, e.g.
//
//   TEST_CASE("SqliteStore behaves as a Store", "[store][sqlite]") {
//     cenv::testing::run_store_suite(make_sqlite_database);
//   }
//
// Each behaviour is a SECTION; Catch2 re-enters the TEST_CASE once per section, so every
// section gets a new, empty database. Run one with `-c "<section name>"`.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/clock.h"
#include "api/json_arena.h"
#include "api/limits.h"
#include "api/object.h"
#include "api/selector.h"
#include "controller/store/store.h"
#include "test/fakes/fake_clock.h"

namespace cenv::testing {

// 2026-01-02T03:04:05Z, the time of every test store.
inline std::chrono::system_clock::time_point suite_time() {
  using namespace std::chrono;
  return sys_days(year(2026) / January / 2) + hours(3) + minutes(4) + seconds(5);
}
inline constexpr const char* kSuiteTimeText = "2026-01-02T03:04:05Z";

// Opens a store on one database. May be called again after the previous store is destroyed
// (a restart): the new store sees everything the old one committed.
using StoreOpener = std::function<std::unique_ptr<Store>(const Clock&)>;
// Makes a new, empty database and returns its opener. The database is removed when the
// opener (and every copy of it) is destroyed; stores it opened must be destroyed first.
using StoreDatabaseFactory = std::function<StoreOpener()>;

// Returns the value of an ok Result; fails the test with the Status otherwise.
template <typename T>
T must(Result<T> r) {
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

inline void must_ok(const Status& s) {
  INFO(s.to_string());
  REQUIRE(s.ok());
}

inline boost::json::object json_object(std::string_view text) {
  return boost::json::parse(text).as_object();
}

// An object of `kind` with the given spec (JSON text) and labels (JSON text, may be "").
inline Object make_object(std::string_view kind, std::string_view ns, std::string_view name,
                          std::string_view spec = R"({"image":"nginx"})",
                          std::string_view labels = "") {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = kind;
  o.set_name(name);
  o.set_ns(ns);
  if (!labels.empty()) o.metadata()["labels"] = json_object(labels);
  o.spec() = json_object(spec);
  return o;
}

inline Object service(std::string_view name, std::string_view spec = R"({"image":"nginx"})",
                      std::string_view labels = "") {
  return make_object("Service", "default", name, spec, labels);
}

inline std::vector<std::string> names_of(const ObjectList& list) {
  std::vector<std::string> out;
  out.reserve(list.items.size());
  for (const Object& o : list.items) {
    out.push_back(std::string(o.ns()) + "/" + std::string(o.name()));
  }
  return out;
}

inline std::vector<std::string> describe(const std::vector<WatchEvent>& events) {
  std::vector<std::string> out;
  out.reserve(events.size());
  for (const WatchEvent& e : events) {
    out.push_back(std::to_string(e.revision) + " " + event_type_name(e.type) + " " +
                  std::string(e.object.name()));
  }
  return out;
}

inline int64_t count_of(const Object& o) {
  const auto* spec = o.spec_or_null();
  return spec && spec->contains("count") ? spec->at("count").as_int64() : 0;
}

inline void run_store_suite(const StoreDatabaseFactory& new_database) {
  FakeClock clock(suite_time());
  StoreOpener open = new_database();
  std::unique_ptr<Store> store = open(clock);
  REQUIRE(store);

  SECTION("create assigns uid, creationTimestamp, generation 1 and resourceVersion") {
    Object in = service("web");
    in.status() = json_object(R"({"phase":"Pending"})");
    Object out = must(store->create(in));

    CHECK(out.uid().size() == 36);
    CHECK(out.uid()[14] == '4');
    CHECK(out.metadata().at("creationTimestamp") == kSuiteTimeText);
    CHECK(out.generation() == 1);
    CHECK(out.resource_version() == 1);
    CHECK(must(store->revision()) == 1);
    CHECK(out.spec() == in.spec());
    CHECK(out.status() == in.status());  // status on create is kept as given
    CHECK(must(store->get(in.key())) == out);

    Object other = must(store->create(service("api")));
    CHECK(std::string(other.uid()) != out.uid());
    CHECK(other.resource_version() == 2);

    Object with_uid = service("db");
    with_uid.set_uid("11111111-2222-4333-8444-555555555555");
    CHECK(must(store->create(with_uid)).uid() == "11111111-2222-4333-8444-555555555555");
  }

  SECTION("create of an existing object is AlreadyExists and writes nothing") {
    must(store->create(service("web")));
    auto again = store->create(service("web", R"({"image":"other"})"));
    REQUIRE(again.status().code() == Code::kAlreadyExists);
    CHECK(again.status().message() == "Service \"web\" already exists in namespace \"default\"");
    CHECK(must(store->revision()) == 1);
    CHECK(must(store->get(service("web").key())).spec().at("image") == "nginx");

    // The same name in another namespace or of another kind is another object.
    must(store->create(make_object("Service", "other", "web")));
    must(store->create(make_object("Module", "default", "web")));

    Object env = make_object("Environment", "", "dev");
    must(store->create(env));
    CHECK(store->create(env).status().message() == "Environment \"dev\" already exists");
  }

  SECTION("get of a missing object is NotFound") {
    auto r = store->get({"Service", "default", "web"});
    REQUIRE(r.status().code() == Code::kNotFound);
    CHECK(r.status().message() == "Service \"web\" not found in namespace \"default\"");
    must(store->create(service("web")));
    CHECK(store->get({"Service", "other", "web"}).status().code() == Code::kNotFound);
    CHECK(store->get({"Module", "default", "web"}).status().code() == Code::kNotFound);
  }

  SECTION("get_many returns each key's object in order, nullopt for the absent ones") {
    Object web = must(store->create(service("web")));
    Object db = must(store->create(service("db")));
    std::vector<ObjectKey> keys = {{"Service", "default", "db"},
                                   {"Service", "default", "missing"},
                                   {"Service", "default", "web"},
                                   {"Service", "other", "web"},
                                   {"Service", "default", "db"}};
    auto got = must(store->get_many(keys));
    REQUIRE(got.size() == 5);
    REQUIRE(got[0].has_value());
    CHECK(*got[0] == db);
    CHECK_FALSE(got[1].has_value());
    REQUIRE(got[2].has_value());
    CHECK(*got[2] == web);
    CHECK_FALSE(got[3].has_value());
    REQUIRE(got[4].has_value());
    CHECK(*got[4] == db);
    CHECK(must(store->get_many({})).empty());
  }

  SECTION("get_many_into reads what get_many reads, and sees every later write") {
    Object web = must(store->create(service("web")));
    std::vector<ObjectKey> keys = {{"Service", "default", "web"}, {"Service", "default", "db"}};
    auto first = must(store->get_many_into(keys, JsonArena::make()));
    REQUIRE(first.size() == 2);
    REQUIRE(first[0].has_value());
    CHECK(*first[0] == web);
    CHECK_FALSE(first[1].has_value());
    // Another writer changes one object and creates the other: the next read has both.
    Object changed = web;
    changed.spec()["image"] = "nginx:2";
    Object web2 = must(store->update(changed));
    Object db = must(store->create(service("db")));
    auto second = must(store->get_many_into(keys, JsonArena::make()));
    REQUIRE(second[0].has_value());
    CHECK(*second[0] == web2);
    CHECK(second[0]->json().at("spec").at("image") == "nginx:2");
    REQUIRE(second[1].has_value());
    CHECK(*second[1] == db);
    // The objects read first are still whole after their arena's pointer is gone.
    CHECK(*first[0] == web);
  }

  SECTION("a write without a name or kind is Invalid") {
    CHECK(store->create(service("")).status().code() == Code::kInvalid);
    CHECK(store->create(make_object("", "default", "web")).status().code() == Code::kInvalid);
    Object with_rv = service("web");
    with_rv.set_resource_version(7);
    CHECK(store->create(with_rv).status().code() == Code::kInvalid);
    CHECK(must(store->revision()) == 0);
  }

  SECTION("update with a stale resourceVersion is Conflict and writes nothing") {
    Object v1 = must(store->create(service("web")));
    Object v2 = v1;
    v2.spec()["image"] = "nginx:2";
    v2 = must(store->update(v2));
    CHECK(v2.resource_version() == 2);

    Object stale = v1;
    stale.spec()["image"] = "nginx:3";
    auto r = store->update(stale);
    REQUIRE(r.status().code() == Code::kConflict);
    CHECK(r.status().message() ==
          "Operation cannot be fulfilled on Service \"web\": the object has been modified; "
          "please apply your changes to the latest version and try again");
    CHECK(must(store->get(v1.key())) == v2);
    CHECK(must(store->revision()) == 2);

    Object stale_status = v1;
    stale_status.status()["phase"] = "Ready";
    CHECK(store->update_status(stale_status).status().code() == Code::kConflict);
    CHECK(store->remove(v1).status().code() == Code::kConflict);
    CHECK(must(store->get(v1.key())) == v2);
    CHECK(must(store->revision()) == 2);
  }

  SECTION("update without resourceVersion succeeds; update of a missing object is NotFound") {
    Object v1 = must(store->create(service("web")));
    Object blind = service("web", R"({"image":"nginx:2"})");
    Object v2 = must(store->update(blind));
    CHECK(v2.resource_version() == 2);
    CHECK(v2.spec().at("image") == "nginx:2");
    CHECK(v2.uid() == v1.uid());
    CHECK(v2.metadata().at("creationTimestamp") == v1.metadata().at("creationTimestamp"));

    auto missing = store->update(service("api"));
    REQUIRE(missing.status().code() == Code::kNotFound);
    CHECK(missing.status().message() == "Service \"api\" not found in namespace \"default\"");
    CHECK(store->update_status(service("api")).status().code() == Code::kNotFound);
    CHECK(must(store->revision()) == 2);
  }

  SECTION("update keeps uid and creationTimestamp whatever the object says") {
    Object v1 = must(store->create(service("web")));
    clock.set(suite_time() + std::chrono::hours(1));
    Object forged = v1;
    forged.set_uid("forged");
    forged.set_creation_timestamp("1999-01-01T00:00:00Z");
    forged.set_generation(42);
    forged.spec()["image"] = "nginx:2";
    Object v2 = must(store->update(forged));
    CHECK(v2.uid() == v1.uid());
    CHECK(v2.metadata().at("creationTimestamp") == kSuiteTimeText);
    CHECK(v2.generation() == 2);
  }

  SECTION("generation is bumped only when spec changes") {
    Object v1 = must(store->create(service("web", R"({"image":"nginx"})", R"({"app":"web"})")));
    Object relabel = v1;
    relabel.metadata()["labels"] = json_object(R"({"app":"web","tier":"front"})");
    Object v2 = must(store->update(relabel));
    CHECK(v2.generation() == 1);
    CHECK(v2.resource_version() == 2);
    CHECK(v2.labels()->contains("tier"));

    Object respec = v2;
    respec.spec()["image"] = "nginx:2";
    Object v3 = must(store->update(respec));
    CHECK(v3.generation() == 2);
    CHECK(v3.resource_version() == 3);
  }

  SECTION("status is written only by update_status and spec only by update") {
    Object in = service("web");
    in.status() = json_object(R"({"phase":"Pending"})");
    Object v1 = must(store->create(in));

    Object status_write = v1;
    status_write.spec()["image"] = "ignored";
    status_write.metadata()["labels"] = json_object(R"({"ignored":"yes"})");
    status_write.status() = json_object(R"({"phase":"Ready","observedGeneration":1})");
    Object v2 = must(store->update_status(status_write));
    CHECK(v2.status().at("phase") == "Ready");
    CHECK(v2.spec() == v1.spec());
    CHECK(v2.labels() == nullptr);
    CHECK(v2.generation() == 1);
    CHECK(v2.resource_version() == 2);

    Object spec_write = v2;
    spec_write.spec()["image"] = "nginx:2";
    spec_write.status() = json_object(R"({"phase":"Failed"})");
    Object v3 = must(store->update(spec_write));
    CHECK(v3.status() == v2.status());
    CHECK(v3.spec().at("image") == "nginx:2");
    CHECK(v3.generation() == 2);

    // An update without status keeps the stored status too.
    Object no_status = service("web", R"({"image":"nginx:3"})");
    Object v4 = must(store->update(no_status));
    CHECK(v4.status() == v2.status());
    CHECK(must(store->get(v1.key())) == v4);
  }

  SECTION("an update that changes nothing takes no revision") {
    Object in = service("web");
    in.status() = json_object(R"({"phase":"Ready"})");
    Object v1 = must(store->create(in));

    CHECK(must(store->update(v1)) == v1);
    Object without_rv = v1;
    without_rv.clear_resource_version();
    CHECK(must(store->update(without_rv)) == v1);
    Object status_only_differs = v1;
    status_only_differs.status()["phase"] = "Failed";  // update ignores status
    CHECK(must(store->update(status_only_differs)) == v1);
    CHECK(must(store->update_status(v1)) == v1);

    CHECK(must(store->revision()) == 1);
    CHECK(must(store->events_since(0, 100)).size() == 1);

    // The next real write takes the next revision.
    Object changed = v1;
    changed.spec()["image"] = "nginx:2";
    CHECK(must(store->update(changed)).resource_version() == 2);
  }

  SECTION("delete returns the object as it was and removes it") {
    Object v1 = must(store->create(service("web")));
    must(store->create(service("api")));
    Object gone = must(store->remove(service("web")));
    CHECK(gone == v1);
    CHECK(store->get(v1.key()).status().code() == Code::kNotFound);
    CHECK(must(store->revision()) == 3);

    auto again = store->remove(service("web"));
    REQUIRE(again.status().code() == Code::kNotFound);
    CHECK(must(store->revision()) == 3);

    // Precondition: the current resourceVersion deletes.
    Object api = must(store->get(service("api").key()));
    must(store->remove(api));
    CHECK(must(store->list({"Service", "", {}})).items.empty());

    // A deleted name can be created again, as a new object.
    Object reborn = must(store->create(service("web")));
    CHECK(reborn.uid() != v1.uid());
    CHECK(reborn.resource_version() == 5);
  }

  SECTION("a batch is all or nothing") {
    must(store->create(service("c")));
    std::vector<Write> batch = {
        {WriteOp::kCreate, service("a")},
        {WriteOp::kCreate, service("b")},
        {WriteOp::kCreate, service("c")},
    };
    auto r = store->commit(batch);
    REQUIRE(r.status().code() == Code::kAlreadyExists);
    CHECK_THAT(r.status().message(), Catch::Contains("\"c\""));
    CHECK(store->get(service("a").key()).status().code() == Code::kNotFound);
    CHECK(store->get(service("b").key()).status().code() == Code::kNotFound);
    CHECK(must(store->revision()) == 1);
    CHECK(must(store->events_since(0, 100)).size() == 1);

    // A good batch: results in order, one revision per write, later writes see earlier ones.
    Object a2 = service("a", R"({"image":"nginx:2"})");
    std::vector<Write> good = {
        {WriteOp::kCreate, service("a")},
        {WriteOp::kCreate, service("b")},
        {WriteOp::kUpdate, a2},
        {WriteOp::kDelete, service("c")},
    };
    auto out = must(store->commit(good));
    REQUIRE(out.size() == 4);
    CHECK(out[0].resource_version() == 2);
    CHECK(out[1].resource_version() == 3);
    CHECK(out[2].resource_version() == 4);
    CHECK(out[2].generation() == 2);
    CHECK(out[3].name() == "c");
    CHECK(must(store->revision()) == 5);
    CHECK(must(store->get(a2.key())) == out[2]);

    CHECK(must(store->commit({})).empty());
    CHECK(must(store->revision()) == 5);
  }

  SECTION("list filters by kind, namespace and selector, ordered by namespace then name") {
    must(store->create(make_object("Service", "b", "web", R"({})", R"({"app":"web"})")));
    must(store->create(make_object("Service", "a", "web", R"({})", R"({"app":"web"})")));
    must(store->create(make_object("Service", "a", "db", R"({})", R"({"app":"db"})")));
    must(store->create(make_object("Service", "b", "api", R"({})", "")));
    must(store->create(make_object("Module", "a", "tools", R"({})", R"({"app":"web"})")));

    ObjectList all = must(store->list({"Service", "", {}}));
    CHECK(names_of(all) == std::vector<std::string>{"a/db", "a/web", "b/api", "b/web"});
    CHECK(all.revision == 5);

    ObjectList in_a = must(store->list({"Service", "a", {}}));
    CHECK(names_of(in_a) == std::vector<std::string>{"a/db", "a/web"});

    ObjectList web = must(store->list({"Service", "", must(LabelSelector::parse("app=web"))}));
    CHECK(names_of(web) == std::vector<std::string>{"a/web", "b/web"});

    ObjectList not_web =
        must(store->list({"Service", "b", must(LabelSelector::parse("app!=web"))}));
    CHECK(names_of(not_web) == std::vector<std::string>{"b/api"});

    ObjectList labelled = must(store->list({"Service", "", must(LabelSelector::parse("app"))}));
    CHECK(names_of(labelled) == std::vector<std::string>{"a/db", "a/web", "b/web"});

    CHECK(must(store->list({"Module", "", {}})).items.size() == 1);
    CHECK(must(store->list({"CommandRun", "", {}})).items.empty());
    CHECK(must(store->list({"Service", "c", {}})).items.empty());

    // The listed objects are the stored ones.
    CHECK(all.items[0] == must(store->get({"Service", "a", "db"})));
  }

  SECTION("objects and the revision survive a restart, and revisions are never reused") {
    Object web = must(store->create(service("web")));
    must(store->create(service("api")));
    must(store->remove(service("api")));  // the newest revision belongs to a deleted object
    must_ok(store->compact(3));
    store.reset();

    store = open(clock);
    REQUIRE(store);
    CHECK(must(store->revision()) == 3);
    CHECK(must(store->compacted_revision()) == 3);
    CHECK(must(store->get(web.key())) == web);
    CHECK(store->get(service("api").key()).status().code() == Code::kNotFound);
    CHECK(must(store->create(service("db"))).resource_version() == 4);
  }

  SECTION("events_since reports ADDED, MODIFIED and DELETED in revision order") {
    Object v1 = must(store->create(service("web")));
    Object v2 = v1;
    v2.spec()["image"] = "nginx:2";
    v2 = must(store->update(v2));
    Object v3 = v2;
    v3.status()["phase"] = "Ready";
    v3 = must(store->update_status(v3));
    must(store->create(service("api")));
    must(store->remove(service("web")));

    auto events = must(store->events_since(0, 100));
    CHECK(describe(events) == std::vector<std::string>{"1 ADDED web", "2 MODIFIED web",
                                                       "3 MODIFIED web", "4 ADDED api",
                                                       "5 DELETED web"});
    REQUIRE(events.size() == 5);
    CHECK(events[0].object == v1);
    CHECK(events[1].object == v2);
    CHECK(events[2].object == v3);
    CHECK(events[4].object == v3);  // DELETED carries the object as last stored

    CHECK(describe(must(store->events_since(3, 100))) ==
          std::vector<std::string>{"4 ADDED api", "5 DELETED web"});
    CHECK(describe(must(store->events_since(1, 2))) ==
          std::vector<std::string>{"2 MODIFIED web", "3 MODIFIED web"});
    CHECK(must(store->events_since(5, 100)).empty());
  }

  SECTION("compaction makes older revisions Gone and keeps newer ones") {
    for (const char* name : {"a", "b", "c", "d", "e"}) must(store->create(service(name)));
    CHECK(must(store->compacted_revision()) == 0);
    must_ok(store->compact(3));
    CHECK(must(store->compacted_revision()) == 3);

    auto gone = store->events_since(2, 100);
    REQUIRE(gone.status().code() == Code::kGone);
    CHECK(gone.status().message() ==
          "the requested resourceVersion 2 is too old (compacted to 3); relist");
    CHECK(store->events_since(0, 100).status().code() == Code::kGone);
    CHECK(describe(must(store->events_since(3, 100))) ==
          std::vector<std::string>{"4 ADDED d", "5 ADDED e"});

    // Objects are kept; compacting again lower is a no-op; the future is refused.
    CHECK(must(store->list({"Service", "", {}})).items.size() == 5);
    must_ok(store->compact(2));
    CHECK(must(store->compacted_revision()) == 3);
    CHECK(store->compact(6).code() == Code::kInvalid);
    must_ok(store->compact(5));
    CHECK(must(store->events_since(5, 100)).empty());
    CHECK(must(store->create(service("f"))).resource_version() == 6);
  }

  SECTION("logs append in order, with offsets, and read back from any offset") {
    const std::string uid(must(store->create(service("job"))).uid());
    auto at = [](int s) { return suite_time() + std::chrono::seconds(s); };
    std::vector<LogPiece> first = {{LogStream::kStdout, 1, at(1), "hello "},
                                   {LogStream::kStderr, 1, at(2), "oops\n"}};
    CHECK(must(store->append_log(uid, first)) == 11);
    std::vector<LogPiece> second = {{LogStream::kStdout, 1, at(3), "world\n"}};
    CHECK(must(store->append_log(uid, second)) == 17);

    auto all = must(store->read_log(uid, 0, 1 << 20));
    REQUIRE(all.size() == 3);
    CHECK(all[0].seq == 0);
    CHECK(all[0].offset == 0);
    CHECK(all[0].stream == LogStream::kStdout);
    CHECK(all[0].data == "hello ");
    CHECK(all[0].time == at(1));
    CHECK(all[1].seq == 1);
    CHECK(all[1].offset == 6);
    CHECK(all[1].stream == LogStream::kStderr);
    CHECK(all[1].attempt == 1);
    CHECK(all[2].seq == 2);
    CHECK(all[2].offset == 11);
    CHECK(all[2].data == "world\n");

    // From the middle of a chunk: that chunk is cut to start at the offset.
    auto tail = must(store->read_log(uid, 8, 1 << 20));
    REQUIRE(tail.size() == 2);
    CHECK(tail[0].offset == 8);
    CHECK(tail[0].data == "ps\n");
    CHECK(tail[0].stream == LogStream::kStderr);
    CHECK(tail[1].data == "world\n");
    CHECK(must(store->read_log(uid, 17, 1 << 20)).empty());
    CHECK(must(store->read_log(uid, 100, 1 << 20)).empty());
    // max_bytes bounds the answer but always returns at least one chunk.
    CHECK(must(store->read_log(uid, 0, 1)).size() == 1);
    CHECK(must(store->read_log("no-such-uid", 0, 1 << 20)).empty());
  }

  SECTION("logs keep any bytes, and empty pieces or uids are refused") {
    const std::string uid(must(store->create(service("job"))).uid());
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    // Bigger than a page, a packet and a SQLite cell: the largest chunk there may be.
    bytes += std::string(kMaxLogChunkBytes - bytes.size(), '\0');
    std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), bytes}};
    CHECK(must(store->append_log(uid, pieces)) == static_cast<int64_t>(bytes.size()));
    std::string read;
    for (int64_t offset = 0;;) {
      auto chunks = must(store->read_log(uid, offset, 4096));
      if (chunks.empty()) break;
      for (const LogChunk& c : chunks) {
        CHECK(c.offset == offset);
        read += c.data;
        offset = c.end();
      }
    }
    CHECK(read == bytes);

    std::vector<LogPiece> empty = {{LogStream::kStdout, 1, suite_time(), ""}};
    CHECK(store->append_log(uid, empty).status().code() == Code::kInvalid);
    CHECK(store->append_log("", pieces).status().code() == Code::kInvalid);
    std::vector<LogPiece> too_large = {{LogStream::kStdout, 1, suite_time(), bytes + "x"}};
    auto refused = store->append_log(uid, too_large);
    CHECK(refused.status().code() == Code::kInvalid);
    CHECK(refused.status().message() == "append_log: a chunk of 262145 bytes for " + uid +
                                            " is larger than the limit of 262144 bytes");
    CHECK(must(store->log_summary(uid)).bytes == static_cast<int64_t>(bytes.size()));
  }

  SECTION("log_summary counts bytes per attempt and stream") {
    const std::string uid(must(store->create(service("job"))).uid());
    std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), "aaa"},
                                    {LogStream::kStderr, 1, suite_time(), "bb"},
                                    {LogStream::kStdout, 1, suite_time(), "c"},
                                    {LogStream::kStdout, 2, suite_time(), "dddd"}};
    must(store->append_log(uid, pieces));
    LogSummary summary = must(store->log_summary(uid));
    CHECK(summary.chunks == 4);
    CHECK(summary.bytes == 10);
    CHECK(summary.bytes_of(1, LogStream::kStdout) == 4);
    CHECK(summary.bytes_of(1, LogStream::kStderr) == 2);
    CHECK(summary.bytes_of(2, LogStream::kStdout) == 4);
    CHECK(summary.bytes_of(2, LogStream::kStderr) == 0);
    LogSummary none = must(store->log_summary("no-such-uid"));
    CHECK(none.chunks == 0);
    CHECK(none.bytes == 0);
  }

  SECTION("deleting an object deletes its log, and only its log") {
    Object job = must(store->create(service("job")));
    Object other = must(store->create(service("other")));
    std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), "output"}};
    must(store->append_log(std::string(job.uid()), pieces));
    must(store->append_log(std::string(other.uid()), pieces));
    must(store->remove(job));
    CHECK(must(store->read_log(std::string(job.uid()), 0, 1 << 20)).empty());
    CHECK(must(store->log_summary(std::string(job.uid()))).bytes == 0);
    CHECK(must(store->read_log(std::string(other.uid()), 0, 1 << 20)).size() == 1);

    must_ok(store->delete_log(std::string(other.uid())));
    CHECK(must(store->read_log(std::string(other.uid()), 0, 1 << 20)).empty());
    must_ok(store->delete_log(std::string(other.uid())));  // none left: still Ok
  }

  SECTION("trimming a log drops the attempts before one and keeps the offsets of the rest") {
    const std::string uid = "trimmed";
    std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), "first "},
                                    {LogStream::kStdout, 2, suite_time(), "second "},
                                    {LogStream::kStdout, 3, suite_time(), "third"}};
    must(store->append_log(uid, pieces));
    must_ok(store->trim_log(uid, 3));
    // From the start (trimmed): the first chunk kept, at its own offset, even with a small
    // read size.
    auto from_start = must(store->read_log(uid, 0, 2));
    REQUIRE(from_start.size() == 1);
    CHECK(from_start[0].attempt == 3);
    CHECK(from_start[0].offset == 13);
    CHECK(from_start[0].data == "third");
    // From inside the kept chunk: cut there, as before.
    auto inside = must(store->read_log(uid, 15, 1 << 20));
    REQUIRE(inside.size() == 1);
    CHECK(inside[0].data == "ird");
    LogSummary summary = must(store->log_summary(uid));
    CHECK(summary.bytes_of(1, LogStream::kStdout) == 0);
    CHECK(summary.bytes_of(3, LogStream::kStdout) == 5);
    // Appends go on after the kept bytes.
    std::vector<LogPiece> more = {{LogStream::kStdout, 4, suite_time(), "!"}};
    CHECK(must(store->append_log(uid, more)) == 19);
    must_ok(store->trim_log("no-such-uid", 5));
  }

  SECTION("archives are stored once by digest, read back byte for byte and survive a restart") {
    const std::string digest = "sha256:" + std::string(64, 'a');
    std::string bytes("\x1f\x8b\0binary\xff", 10);
    CHECK_FALSE(must(store->has_archive(digest)));
    CHECK(store->get_archive(digest).status().code() == Code::kNotFound);
    must_ok(store->put_archive(digest, bytes));
    // The same digest again is a no-op: the first bytes stay.
    must_ok(store->put_archive(digest, "other"));
    CHECK(must(store->get_archive(digest)) == bytes);
    CHECK(must(store->has_archive(digest)));
    const std::string second = "sha256:" + std::string(64, '0');
    must_ok(store->put_archive(second, std::string(3 << 20, 'x')));  // a few MiB
    CHECK(must(store->list_archives()) == std::vector<std::string>{second, digest});
    CHECK(store->put_archive("", "x").code() == Code::kInvalid);
    store.reset();
    store = open(clock);
    CHECK(must(store->get_archive(digest)) == bytes);
    CHECK(must(store->get_archive(second)).size() == (3u << 20));
  }

  SECTION("logs survive a restart and continue where they ended") {
    const std::string uid(must(store->create(service("job"))).uid());
    std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), "before\n"}};
    must(store->append_log(uid, pieces));
    store.reset();
    store = open(clock);
    pieces[0].data = "after\n";
    CHECK(must(store->append_log(uid, pieces)) == 13);
    auto chunks = must(store->read_log(uid, 0, 1 << 20));
    REQUIRE(chunks.size() == 2);
    CHECK(chunks[1].seq == 1);
    CHECK(chunks[1].offset == 7);
  }

  SECTION("a reader following a log while it is written sees every byte once, in order") {
    const std::string uid(must(store->create(service("job"))).uid());
    constexpr int kPieces = 400;
    std::string written;
    for (int i = 0; i < kPieces; ++i) written += "line " + std::to_string(i) + "\n";
    std::atomic<bool> done{false};
    std::thread writer([&] {
      for (int i = 0; i < kPieces; ++i) {
        std::vector<LogPiece> p = {{i % 3 == 0 ? LogStream::kStderr : LogStream::kStdout, 1,
                                    suite_time(), "line " + std::to_string(i) + "\n"}};
        auto r = store->append_log(uid, p);
        if (!r.ok()) break;
      }
      done = true;
    });
    std::string read;
    int64_t offset = 0;
    // Small reads, so the reader keeps resuming from an offset as a reconnecting follower does.
    for (;;) {
      bool finished = done.load();
      auto chunks = must(store->read_log(uid, offset, 64));
      for (const LogChunk& c : chunks) {
        REQUIRE(c.offset == offset);
        read += c.data;
        offset = c.end();
      }
      if (chunks.empty() && finished) break;
    }
    writer.join();
    CHECK(read == written);
  }

  SECTION("concurrent read-modify-write updates lose nothing") {
    must(store->create(service("counter", R"({"count":0})")));
    constexpr int kThreads = 8;
    constexpr int kUpdatesPerThread = 200;
    std::atomic<int> successes{0};
    std::atomic<int> conflicts{0};
    std::atomic<int> failures{0};
    {
      std::vector<std::jthread> threads;
      threads.reserve(kThreads);
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
          for (int done = 0; done < kUpdatesPerThread;) {
            auto current = store->get({"Service", "default", "counter"});
            if (!current.ok()) {
              ++failures;
              return;
            }
            Object next = std::move(current).value();
            next.spec()["count"] = count_of(next) + 1;
            auto r = store->update(next);
            if (r.ok()) {
              ++done;
              ++successes;
            } else if (r.status().code() == Code::kConflict) {
              ++conflicts;
            } else {
              ++failures;
              return;
            }
          }
        });
      }
    }
    CHECK(failures == 0);
    CHECK(successes == kThreads * kUpdatesPerThread);
    Object final_counter = must(store->get({"Service", "default", "counter"}));
    CHECK(count_of(final_counter) == successes);
    CHECK(final_counter.generation() == 1 + successes);
    CHECK(must(store->revision()) == 1 + successes);
    INFO("conflicts retried: " << conflicts.load());
  }
}

}  // namespace cenv::testing
