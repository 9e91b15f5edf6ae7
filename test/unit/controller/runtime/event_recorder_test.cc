// EventRecorder on a real ApiService: aggregation, bounds, never failing, and Events going
// with their namespace.

#include "controller/runtime/event_recorder.h"

#include <catch2/catch.hpp>

#include "controller/server/deletion_plan.h"
#include "test/fakes/fake_clock.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;

EventRecorderOptions no_sweeper() {
  EventRecorderOptions o;
  o.sweep_interval = std::chrono::seconds(0);
  return o;
}

std::vector<Object> events_in(ApiFixture& f, const std::string& ns) {
  auto list = f.client->list("Event", ns, LabelSelector{});
  REQUIRE(list.ok());
  return list->items;
}

int64_t count_of(const Object& e) { return e.json().at("count").as_int64(); }

Object with_finalizer(ApiFixture& f, const std::string& ns, const std::string& name) {
  Object web = f.create("Service", ns, name);
  web.metadata()["finalizers"] = boost::json::array{"example.com/wait"};
  auto updated = f.client->update(web);
  REQUIRE(updated.ok());
  return updated.value();
}

TEST_CASE("events: a repeated event raises count on one Event", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  Object web = f.create("Service", "default", "web");

  recorder.record(web, EventSeverity::kWarning, "BackOff", "container exited with code 1");
  clock.advance(std::chrono::seconds(30));
  recorder.record(web, EventSeverity::kWarning, "BackOff", "container exited with code 1");
  recorder.record(web, EventSeverity::kNormal, "Started", "container started");

  auto events = events_in(f, "default");
  REQUIRE(events.size() == 2);
  const Object& backoff =
      Object::str_field(events[0].json(), "reason") == "BackOff" ? events[0] : events[1];
  CHECK(count_of(backoff) == 2);
  CHECK(backoff.json().at("type") == "Warning");
  CHECK(backoff.json().at("firstTimestamp") == "2027-01-15T08:00:00Z");
  CHECK(backoff.json().at("lastTimestamp") == "2027-01-15T08:00:30Z");
  const auto& inv = backoff.json().at("involvedObject").as_object();
  CHECK(inv.at("kind") == "Service");
  CHECK(inv.at("name") == "web");
  CHECK(inv.at("namespace") == "default");
  CHECK(inv.at("uid").as_string() == web.uid());
  CHECK(backoff.json().at("source").as_object().at("component") == "cenv-controller");
  CHECK(backoff.name().size() <= 63);
  CHECK(backoff.name().starts_with("web-"));
}

TEST_CASE("events: about an Environment they live in namespace default", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  Object env = f.create("Environment", "", "demo");
  recorder.record(env, EventSeverity::kNormal, "Synced", "modules fetched");
  auto events = events_in(f, "default");
  REQUIRE(events.size() == 1);
  CHECK(events[0].json().at("involvedObject").as_object().at("name") == "demo");
  CHECK_FALSE(events[0].json().at("involvedObject").as_object().contains("namespace"));
}

TEST_CASE("events: recording never fails, even where nothing can be written", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  Object ghost;  // in a namespace that does not exist
  ghost.json()["apiVersion"] = kApiVersion;
  ghost.json()["kind"] = "Service";
  ghost.set_name("web");
  ghost.set_ns("nowhere");
  recorder.record(ghost, EventSeverity::kWarning, "Failed", "cannot start");
  // A message beyond the schema's bound is cut rather than refused.
  Object web = f.create("Service", "default", "web");
  recorder.record(web, EventSeverity::kNormal, "Long", std::string(5000, 'x'));
  auto events = events_in(f, "default");
  REQUIRE(events.size() == 1);
  CHECK(events[0].json().at("message").as_string().size() == 1024);
  CHECK(events_in(f, "").size() == 1);
}

TEST_CASE("events: expire() deletes events not seen for the ttl", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorderOptions options = no_sweeper();
  options.ttl = std::chrono::seconds(3600);
  EventRecorder recorder(*f.client, clock, options);
  Object web = f.create("Service", "default", "web");
  recorder.record(web, EventSeverity::kNormal, "Old", "first");
  clock.advance(std::chrono::seconds(1800));
  recorder.record(web, EventSeverity::kNormal, "Recent", "second");
  CHECK(recorder.expire() == 0);
  clock.advance(std::chrono::seconds(1801));  // "Old" is now 3601 s old, "Recent" 1801 s
  CHECK(recorder.expire() == 1);
  auto events = events_in(f, "default");
  REQUIRE(events.size() == 1);
  CHECK(events[0].json().at("reason") == "Recent");
}

TEST_CASE("events: at most max_per_object are kept, the least recent go", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorderOptions options = no_sweeper();
  options.max_per_object = 3;
  EventRecorder recorder(*f.client, clock, options);
  Object web = f.create("Service", "default", "web");
  Object db = f.create("Service", "default", "db");
  recorder.record(db, EventSeverity::kNormal, "Started", "db started");
  for (int i = 0; i < 5; ++i) {
    clock.advance(std::chrono::seconds(1));
    recorder.record(web, EventSeverity::kNormal, "Step", "step " + std::to_string(i));
  }
  std::vector<std::string> web_messages;
  size_t db_events = 0;
  for (const Object& e : events_in(f, "default")) {
    const auto& inv = e.json().at("involvedObject").as_object();
    if (inv.at("name") == "db") {
      ++db_events;
    } else {
      web_messages.push_back(std::string(e.json().at("message").as_string()));
    }
  }
  std::sort(web_messages.begin(), web_messages.end());
  CHECK(web_messages == std::vector<std::string>{"step 2", "step 3", "step 4"});
  CHECK(db_events == 1);
}

TEST_CASE("events: record_soon writes on the recorder's thread, in order, flush waits for it",
          "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  Object web = f.create("Service", "default", "web");
  for (int i = 0; i < 3; ++i) {
    recorder.record_soon(web, EventSeverity::kNormal, "Applied", "applied by alice", "alice");
  }
  recorder.record_soon(web, EventSeverity::kNormal, "Deleted", "deleted by bob", "bob");
  recorder.flush();
  auto events = events_in(f, "default");
  REQUIRE(events.size() == 2);
  std::vector<std::string> seen;
  for (const Object& e : events) {
    seen.push_back(std::string(e.json().at("reason").as_string()) + " " +
                   std::string(e.json().at("user").as_string()) + " x" +
                   std::to_string(count_of(e)) + " " +
                   std::string(e.json().at("involvedObject").at("uid").as_string()));
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"Applied alice x3 " + std::string(web.uid()),
                                         "Deleted bob x1 " + std::string(web.uid())});
}

TEST_CASE("events: record_soon drops what does not fit in its queue", "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorderOptions options = no_sweeper();
  options.queue_capacity = 0;
  EventRecorder recorder(*f.client, clock, options);
  Object web = f.create("Service", "default", "web");
  recorder.record_soon(web, EventSeverity::kNormal, "Applied", "applied by alice", "alice");
  recorder.flush();
  CHECK(events_in(f, "default").empty());
}

TEST_CASE("events: the per-object bound holds with counts learned from an earlier recorder",
          "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorderOptions options = no_sweeper();
  options.max_per_object = 3;
  Object web = f.create("Service", "default", "web");
  {
    EventRecorder before_restart(*f.client, clock, options);
    for (int i = 0; i < 3; ++i) {
      clock.advance(std::chrono::seconds(1));
      before_restart.record(web, EventSeverity::kNormal, "Step", "step " + std::to_string(i));
    }
  }
  // A new recorder (a restarted controller) learns the 3 stored events before counting its own.
  EventRecorder recorder(*f.client, clock, options);
  clock.advance(std::chrono::seconds(1));
  recorder.record(web, EventSeverity::kNormal, "Step", "step 3");
  std::vector<std::string> messages;
  for (const Object& e : events_in(f, "default")) {
    messages.push_back(std::string(e.json().at("message").as_string()));
  }
  std::sort(messages.begin(), messages.end());
  CHECK(messages == std::vector<std::string>{"step 1", "step 2", "step 3"});
}

TEST_CASE("events: a deletion waiting for finalizers is recorded through the API hook",
          "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  f.api->set_on_event([&](const Object& o, std::string_view type, std::string_view reason,
                          std::string_view message, std::string_view user) {
    recorder.record(o, type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal, reason,
                    message, user);
  });
  Object web = with_finalizer(f, "default", "web");
  REQUIRE(f.api->remove("Service", "default", "web", 0, Propagation::kBackground).ok());
  REQUIRE(f.api->remove("Service", "default", "web", 0, Propagation::kBackground).ok());
  auto events = events_in(f, "default");
  REQUIRE(events.size() == 1);
  CHECK(events[0].json().at("reason") == "FinalizersPending");
  CHECK(events[0].json().at("message") == "deletion waits for finalizers: example.com/wait");
  CHECK(events[0].json().at("involvedObject").as_object().at("uid").as_string() == web.uid());
  // The second delete changed nothing (it was already terminating), so it told nothing.
  CHECK(count_of(events[0]) == 1);
}

TEST_CASE("events: Events never hold up their namespace's deletion and go with it",
          "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  f.api->set_on_event([&](const Object& o, std::string_view type, std::string_view reason,
                          std::string_view message, std::string_view user) {
    recorder.record(o, type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal, reason,
                    message, user);
  });
  f.create("Environment", "", "demo");
  Object web = with_finalizer(f, "demo", "web");
  recorder.record(web, EventSeverity::kNormal, "Started", "before the deletion");

  REQUIRE(f.api->remove("Environment", "", "demo", 0, Propagation::kBackground).ok());
  auto env = f.client->get({"Environment", "", "demo"});
  REQUIRE(env.ok());
  CHECK(has_finalizer(env.value(), kNamespaceFinalizer));
  // Recorded while the namespace is terminating: the Service's FinalizersPending, and this.
  auto marked = f.client->get({"Service", "demo", "web"});
  REQUIRE(marked.ok());
  recorder.record(marked.value(), EventSeverity::kNormal, "Stopping", "after the deletion began");
  CHECK(events_in(f, "demo").size() == 2);

  // The Service's finalizer goes: the Service, its Events and the Environment all go.
  Object released = marked.value();
  released.metadata().erase("finalizers");
  REQUIRE(f.client->update(released).ok());
  CHECK(f.client->get({"Environment", "", "demo"}).status().code() == Code::kNotFound);
  CHECK(f.client->get({"Service", "demo", "web"}).status().code() == Code::kNotFound);
  CHECK(events_in(f, "demo").empty());
  // The Environment's own NamespaceTerminating event is about it, so it is in "default".
  bool found = false;
  for (const Object& e : events_in(f, "default")) {
    found |= e.json().at("reason") == "NamespaceTerminating";
  }
  CHECK(found);
}

// FinalizersPending is recorded once, when a deletion is committed (ApiService::tell_waiting).
// While an Environment waits for its namespace, every object of it that goes finishes the
// Environment again (DeletionPlan::finish), which removed every Event of the namespace: the
// Event was lost while the object it is about still waited. That is how the e2e test "Events
// go with their namespace..." could miss it (there, CommandRun hello goes as soon as the
// controller drops its cleanup finalizer). Events now go last, with the namespace.
TEST_CASE("events: a deletion's Events stay while their namespace still waits for it",
          "[runtime][events]") {
  ApiFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  f.api->set_on_event([&](const Object& o, std::string_view type, std::string_view reason,
                          std::string_view message, std::string_view user) {
    recorder.record(o, type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal, reason,
                    message, user);
  });
  f.create("Environment", "", "demo");
  with_finalizer(f, "demo", "web");
  with_finalizer(f, "demo", "hello");
  REQUIRE(f.api->remove("Environment", "", "demo", 0, Propagation::kBackground).ok());
  auto pending_for = [&](std::string_view name) {
    for (const Object& e : events_in(f, "demo")) {
      if (Object::str_field(e.json(), "reason") == "FinalizersPending" &&
          Object::str_field(e.json().at("involvedObject").as_object(), "name") == name) {
        return true;
      }
    }
    return false;
  };
  REQUIRE(pending_for("web"));

  // hello's finalizer goes, so hello goes; web still waits, and says why.
  auto hello = f.client->get({"Service", "demo", "hello"});
  REQUIRE(hello.ok());
  Object released = hello.value();
  released.metadata().erase("finalizers");
  REQUIRE(f.client->update(released).ok());
  REQUIRE(f.client->get({"Service", "demo", "hello"}).status().code() == Code::kNotFound);
  REQUIRE(f.client->get({"Environment", "", "demo"}).ok());
  CHECK(pending_for("web"));

  // web's finalizer goes: the namespace goes, its Events with it.
  auto web = f.client->get({"Service", "demo", "web"});
  REQUIRE(web.ok());
  released = web.value();
  released.metadata().erase("finalizers");
  REQUIRE(f.client->update(released).ok());
  CHECK(f.client->get({"Environment", "", "demo"}).status().code() == Code::kNotFound);
  CHECK(events_in(f, "demo").empty());
}

}  // namespace
}  // namespace cenv
