// Who wrote: ApiService records the user of each write in managedFields and tells the users'
// writes as events (the controller's own writes record the system user and tell nothing).
// On a real ApiService and SqliteStore (the runtime's test bed).

#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "api/yaml_codec.h"
#include "controller/runtime/event_recorder.h"
#include "controller/server/api_service.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;

const Caller kAlice{.user = "alice", .groups = {"devs", "ops"}};
const Caller kBob{.user = "bob", .groups = {}};
const Caller kFred{.user = "fred", .groups = {}, .local = true};

// What the API told through its event hook.
struct Told {
  std::string kind, name, reason, message, user;
  bool operator==(const Told&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Told& t) {
  return out << t.kind << "/" << t.name << " " << t.reason << " \"" << t.message << "\" user "
             << t.user;
}

struct WritersFixture : ApiFixture {
  WritersFixture() {
    api->set_on_event([this](const Object& about, std::string_view, std::string_view reason,
                             std::string_view message, std::string_view user) {
      std::lock_guard lock(mu);
      told.push_back({std::string(about.kind()), std::string(about.name()), std::string(reason),
                      std::string(message), std::string(user)});
    });
  }

  // Applies `yaml` as `by` with field manager `manager`; the outcomes' actions.
  std::vector<std::string> apply(const std::string& yaml, const Caller& by,
                                 const std::string& manager = "cenv", bool dry_run = false) {
    auto docs = parse_manifest(yaml, "test.yaml");
    REQUIRE(docs.ok());
    std::vector<ApplyItem> items;
    for (auto& d : docs.value()) items.push_back({Object(d.value.as_object()), "test.yaml"});
    ApplyOptions options;
    options.field_manager = manager;
    options.caller = by;
    options.dry_run = dry_run;
    auto applied = api->apply(std::move(items), options);
    INFO(applied.status().to_string());
    REQUIRE(applied.ok());
    std::vector<std::string> actions;
    for (const auto& o : applied.value()) actions.push_back(o.action);
    return actions;
  }

  // The user of managedFields entry (manager, operation) of the stored object; "(none)" when
  // there is no such entry, "" when it names no user.
  std::string user_of(const ObjectKey& key, std::string_view manager,
                      std::string_view operation = "Apply") {
    auto stored = store->get(key);
    REQUIRE(stored.ok());
    const auto* managed = stored->metadata().if_contains("managedFields");
    if (!managed) return "(none)";
    for (const auto& e : managed->as_array()) {
      const auto& entry = e.as_object();
      if (entry.at("manager").as_string() == manager &&
          entry.at("operation").as_string() == operation) {
        const auto* user = entry.if_contains("user");
        return user ? std::string(user->as_string()) : "";
      }
    }
    return "(none)";
  }

  std::vector<Told> take_told() {
    std::lock_guard lock(mu);
    return std::exchange(told, {});
  }

  std::mutex mu;
  std::vector<Told> told;  // guarded by mu
};

const ObjectKey kWeb{"Service", "default", "web"};

std::string web(int port, const std::string& extra = "") {
  return "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {name: web" + extra +
         "}\nspec: {ports: [{containerPort: " + std::to_string(port) + "}]}\n";
}

TEST_CASE("writers: apply records each caller in managedFields and tells who applied",
          "[api][writers]") {
  WritersFixture f;
  CHECK(f.apply(web(80), kAlice) == std::vector<std::string>{"created"});
  CHECK(f.user_of(kWeb, "cenv") == "alice");
  CHECK(
      f.take_told() ==
      std::vector<Told>{{"Service", "web", "Created",
                         "created by alice (groups: devs, ops) with field manager cenv", "alice"}});

  // Bob, with his own manager, adds a label: his entry names him, Alice's still her.
  CHECK(f.apply(web(80, ", labels: {tier: front}"), kBob, "bob-tool") ==
        std::vector<std::string>{"configured"});
  CHECK(f.user_of(kWeb, "bob-tool") == "bob");
  CHECK(f.user_of(kWeb, "cenv") == "alice");
  CHECK(f.take_told() == std::vector<Told>{{"Service", "web", "Applied",
                                            "applied by bob with field manager bob-tool", "bob"}});

  // Nothing changes: nothing is told, and the entry keeps the user of its last change.
  CHECK(f.apply(web(80), kBob) == std::vector<std::string>{"unchanged"});
  CHECK(f.take_told().empty());
  CHECK(f.user_of(kWeb, "cenv") == "alice");

  // Bob changes what manager cenv applies: that entry now names him.
  CHECK(f.apply(web(81), kBob) == std::vector<std::string>{"configured"});
  CHECK(f.user_of(kWeb, "cenv") == "bob");
  CHECK(f.take_told() == std::vector<Told>{{"Service", "web", "Applied",
                                            "applied by bob with field manager cenv", "bob"}});

  // A dry run writes and tells nothing.
  f.apply(web(82), kAlice, "cenv", /*dry_run=*/true);
  CHECK(f.take_told().empty());
  CHECK(f.user_of(kWeb, "cenv") == "bob");
}

TEST_CASE("writers: update, status update and delete name their caller", "[api][writers]") {
  WritersFixture f;
  f.apply(web(80), kFred);
  CHECK(f.user_of(kWeb, "cenv") == "fred");
  CHECK(f.take_told().at(0).message == "created by fred (the local owner) with field manager cenv");

  auto live = f.api->get("Service", "default", "web");
  REQUIRE(live.ok());
  Object edited = live.value();
  edited.json()["spec"].as_object()["restartPolicy"] = "Never";
  REQUIRE(f.api->update(edited, "kubectl-edit", kAlice).ok());
  CHECK(f.user_of(kWeb, "kubectl-edit", "Update") == "alice");
  CHECK(f.user_of(kWeb, "cenv") == "fred");
  CHECK(f.take_told() ==
        std::vector<Told>{{"Service", "web", "Updated",
                           "updated by alice (groups: devs, ops) with field manager kubectl-edit",
                           "alice"}});

  // The same object again changes nothing: no event, the entry still Alice's.
  live = f.api->get("Service", "default", "web");
  REQUIRE(live.ok());
  REQUIRE(f.api->update(live.value(), "kubectl-edit", kBob).ok());
  CHECK(f.take_told().empty());
  CHECK(f.user_of(kWeb, "kubectl-edit", "Update") == "alice");

  Object with_status = live.value();
  with_status.json()["status"] = boost::json::object{{"phase", "Stopped"}};
  REQUIRE(f.api->update_status(with_status, kBob).ok());
  CHECK(f.take_told() ==
        std::vector<Told>{{"Service", "web", "StatusUpdated", "status updated by bob", "bob"}});
  auto with_same = f.api->get("Service", "default", "web");
  REQUIRE(with_same.ok());
  REQUIRE(f.api->update_status(with_same.value(), kBob).ok());  // the same status: nothing
  CHECK(f.take_told().empty());

  REQUIRE(f.api->remove("Service", "default", "web", 0, Propagation::kBackground, kBob).ok());
  CHECK(f.take_told() == std::vector<Told>{{"Service", "web", "Deleted", "deleted by bob", "bob"}});
}

TEST_CASE("writers: deleting an Environment and pruning tell who did it", "[api][writers]") {
  WritersFixture f;
  f.apply(R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: demo}
spec: {}
)",
          kAlice);
  f.take_told();
  REQUIRE(f.api->remove("Environment", "", "demo", 0, Propagation::kBackground, kBob).ok());
  auto told = f.take_told();
  const Told deleted{"Environment", "demo", "Deleted", "deleted by bob", "bob"};
  CHECK(std::count(told.begin(), told.end(), deleted) == 1);

  ApplyOptions in_set;
  in_set.applyset = "front";
  in_set.caller = kAlice;
  auto docs = parse_manifest(web(80), "a.yaml");
  REQUIRE(docs.ok());
  REQUIRE(f.api->apply({{Object(docs->front().value.as_object()), "a.yaml"}}, in_set).ok());
  f.take_told();
  in_set.prune = true;
  REQUIRE(f.api->apply({}, in_set).ok());
  CHECK(
      f.take_told() ==
      std::vector<Told>{{"Service", "web", "Deleted",
                         "pruned by alice (groups: devs, ops) (not in apply set front)", "alice"}});
}

TEST_CASE("writers: the controller's own writes record the system user and tell nothing",
          "[api][writers]") {
  WritersFixture f;
  Object created =
      f.create("Service", "default", "web",
               boost::json::object{
                   {"ports", boost::json::array{boost::json::object{{"containerPort", 80}}}}});
  CHECK(f.user_of(kWeb, std::string(kControllerFieldManager)) == "system:cenv-controller");
  created.metadata()["labels"] = boost::json::object{{"owned", "yes"}};
  auto updated = f.client->update(created);
  REQUIRE(updated.ok());
  CHECK(f.user_of(kWeb, std::string(kControllerFieldManager), "Update") ==
        "system:cenv-controller");
  Object with_status = updated.value();
  with_status.json()["status"] = boost::json::object{{"phase", "Running"}};
  REQUIRE(f.client->update_status(with_status).ok());
  REQUIRE(f.client->remove(kWeb, DeleteOptions{}).ok());
  // ApiService's own defaults are the controller's too.
  f.apply(web(80), Caller::controller());
  CHECK(f.user_of(kWeb, "cenv") == "system:cenv-controller");
  REQUIRE(f.api->remove("Service", "default", "web", 0, Propagation::kBackground).ok());
  CHECK(f.take_told().empty());
}

TEST_CASE("writers: a user writing an Event is not told about", "[api][writers]") {
  WritersFixture f;
  f.apply(R"(apiVersion: cenv.io/v1
kind: Event
metadata: {name: note}
involvedObject: {kind: Service, name: web}
reason: Noted
type: Normal
)",
          kAlice);
  CHECK(f.take_told().empty());
}

// A Client whose every call fails, as a store that went away.
class FailingClient final : public Client {
 public:
  Result<Object> get(const ObjectKey&) override { return down(); }
  Result<ObjectList> list(std::string_view, std::string_view, const LabelSelector&) override {
    return down();
  }
  Result<Object> create(const Object&) override { return down(); }
  Result<Object> apply(const Object&) override { return down(); }
  Result<Object> update(const Object&) override { return down(); }
  Status remove(const ObjectKey&, const DeleteOptions&) override { return down(); }
  Result<Object> update_status(const Object&) override { return down(); }

 private:
  static Status down() { return Status::Unavailable("the store is down"); }
};

EventRecorderOptions no_sweeper() {
  EventRecorderOptions o;
  o.sweep_interval = std::chrono::seconds(0);
  return o;
}

void record_through(ApiService& api, EventRecorder& recorder) {
  api.set_on_event([&recorder](const Object& about, std::string_view type, std::string_view reason,
                               std::string_view message, std::string_view user) {
    recorder.record(about, type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal,
                    reason, message, user);
  });
}

TEST_CASE("writers: recorded, a repeated change raises the count of one Event naming the user",
          "[api][writers]") {
  WritersFixture f;
  testing::FakeClock clock;
  EventRecorder recorder(*f.client, clock, no_sweeper());
  record_through(*f.api, recorder);
  f.apply(web(80), kAlice);
  f.apply(web(81), kAlice);
  f.apply(web(81), kAlice);  // unchanged: not recorded
  f.apply(web(80), kAlice);
  f.apply(web(81), kBob);

  auto events = f.client->list("Event", "default", LabelSelector{});
  REQUIRE(events.ok());
  std::vector<std::string> seen;
  for (const Object& e : events->items) {
    const auto& j = e.json();
    seen.push_back(std::string(j.at("reason").as_string()) + " " +
                   std::string(j.at("user").as_string()) + " x" +
                   std::to_string(j.at("count").as_int64()) + ": " +
                   std::string(j.at("message").as_string()));
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen ==
        std::vector<std::string>{
            "Applied alice x2: applied by alice (groups: devs, ops) with field manager cenv",
            "Applied bob x1: applied by bob with field manager cenv",
            "Created alice x1: created by alice (groups: devs, ops) with field manager cenv",
        });
}

TEST_CASE("writers: a failed event write does not fail the user's write", "[api][writers]") {
  WritersFixture f;
  FailingClient failing;
  testing::FakeClock clock;
  EventRecorder recorder(failing, clock, no_sweeper());
  record_through(*f.api, recorder);
  CHECK(f.apply(web(80), kAlice) == std::vector<std::string>{"created"});
  REQUIRE(f.api->remove("Service", "default", "web", 0, Propagation::kBackground, kAlice).ok());
  CHECK(f.store->get(kWeb).status().code() == Code::kNotFound);
}

}  // namespace
}  // namespace cenv
