// ApiServiceClient and the status, finalizer and owner-reference helpers, on a real ApiService.

#include "controller/app/in_process_client.h"

#include <catch2/catch.hpp>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "api/owner_references.h"
#include "controller/runtime/controller.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;

std::chrono::system_clock::time_point at(int64_t seconds) {
  return std::chrono::system_clock::from_time_t(1'800'000'000 + seconds);
}

TEST_CASE("client: update_status writes a changed status and skips an unchanged one",
          "[runtime][client]") {
  ApiFixture f;
  Object web = f.create("Service", "default", "web");
  set_condition(web, "Ready", kConditionFalse, "Starting", "", web.generation(), at(0));
  set_observed_generation(web);
  auto first = f.client->update_status(web);
  REQUIRE(first.ok());
  CHECK(first->resource_version() > web.resource_version());
  int64_t rev = f.revision();

  // The same status again, as a reconciler writes it on every pass: nothing is written.
  Object same = first.value();
  CHECK_FALSE(
      set_condition(same, "Ready", kConditionFalse, "Starting", "", same.generation(), at(60)));
  auto second = f.client->update_status(same);
  REQUIRE(second.ok());
  CHECK(second->resource_version() == first->resource_version());
  CHECK(f.revision() == rev);
  auto events = f.store->events_since(rev, 10);
  REQUIRE(events.ok());
  CHECK(events->empty());

  // Even from a stale copy, an equal status is no conflict and no write.
  auto stale = f.client->update_status(web);
  CHECK(stale.ok());
  CHECK(f.revision() == rev);
}

TEST_CASE("client: create refuses an existing key, update, apply and remove go through",
          "[runtime][client]") {
  ApiFixture f;
  Object web = f.create("Service", "default", "web");
  Object again = web;
  again.clear_resource_version();
  CHECK(f.client->create(again).status().code() == Code::kAlreadyExists);

  Object changed = web;
  changed.spec()["image"] = "nginx:1";
  auto updated = f.client->update(changed);
  REQUIRE(updated.ok());
  CHECK(updated->generation() == 2);
  // Stale resourceVersion.
  CHECK(f.client->update(web).status().code() == Code::kConflict);

  Object applied;
  applied.json()["apiVersion"] = kApiVersion;
  applied.json()["kind"] = "Service";
  applied.set_name("db");
  applied.set_ns("default");
  applied.spec()["image"] = "postgres:16";
  auto created = f.client->apply(applied);
  REQUIRE(created.ok());
  CHECK_FALSE(created->uid().empty());

  auto listed = f.client->list("Service", "default", LabelSelector());
  REQUIRE(listed.ok());
  CHECK(listed->items.size() == 2);

  DeleteOptions stale;
  stale.resource_version = web.resource_version();
  CHECK(f.client->remove(web.key(), stale).code() == Code::kConflict);
  CHECK(f.client->remove(web.key(), {}).ok());
  CHECK(f.client->get(web.key()).status().code() == Code::kNotFound);
  CHECK(f.client->remove(web.key(), {}).code() == Code::kNotFound);
}

TEST_CASE("set_condition keeps lastTransitionTime while the status stays the same",
          "[runtime][status]") {
  Object o;
  o.set_generation(3);
  CHECK(set_condition(o, "Ready", kConditionFalse, "Starting", "pulling", 3, at(0)));
  auto c = get_condition(o, "Ready");
  REQUIRE(c);
  CHECK(c->last_transition_time == format_rfc3339(at(0)));
  CHECK(c->observed_generation == 3);

  // Same status, new reason: updated in place, time kept.
  CHECK(set_condition(o, "Ready", kConditionFalse, "Starting", "creating", 3, at(10)));
  c = get_condition(o, "Ready");
  CHECK(c->message == "creating");
  CHECK(c->last_transition_time == format_rfc3339(at(0)));
  // Nothing new: no change at all.
  CHECK_FALSE(set_condition(o, "Ready", kConditionFalse, "Starting", "creating", 3, at(20)));
  // The status flips: the time moves.
  CHECK(set_condition(o, "Ready", kConditionTrue, "Running", "", 3, at(30)));
  c = get_condition(o, "Ready");
  CHECK(c->status == "True");
  CHECK(c->last_transition_time == format_rfc3339(at(30)));
  CHECK(is_condition_true(o, "Ready"));
  CHECK_FALSE(get_condition(o, "Healthy"));

  CHECK(set_condition(o, "Healthy", kConditionUnknown, "Probing", "", 3, at(40)));
  CHECK(remove_condition(o, "Healthy"));
  CHECK_FALSE(remove_condition(o, "Healthy"));

  CHECK(set_observed_generation(o));
  CHECK(o.status().at("observedGeneration").to_number<int64_t>() == 3);
  CHECK_FALSE(set_observed_generation(o));
}

TEST_CASE("finalizers are added once and removed", "[runtime][finalizers]") {
  Object o;
  CHECK_FALSE(has_finalizer(o, kCleanupFinalizer));
  CHECK(add_finalizer(o, kCleanupFinalizer));
  CHECK_FALSE(add_finalizer(o, kCleanupFinalizer));
  CHECK(has_finalizer(o, kCleanupFinalizer));
  CHECK(o.metadata().at("finalizers").as_array().size() == 1);
  CHECK(remove_finalizer(o, kCleanupFinalizer));
  CHECK_FALSE(remove_finalizer(o, kCleanupFinalizer));
  CHECK_FALSE(is_being_deleted(o));
  o.metadata()["deletionTimestamp"] = "2027-01-15T08:00:00Z";
  CHECK(is_being_deleted(o));
}

TEST_CASE("a finalizer holds a deleted object until the reconciler removes it",
          "[runtime][finalizers]") {
  ApiFixture f;
  Object web = f.create("Service", "default", "web");
  REQUIRE(add_finalizer(web, kCleanupFinalizer));
  auto held = f.client->update(web);
  REQUIRE(held.ok());
  REQUIRE(f.client->remove(web.key(), {}).ok());
  auto terminating = f.client->get(web.key());
  REQUIRE(terminating.ok());
  CHECK(is_being_deleted(terminating.value()));
  Object released = terminating.value();
  REQUIRE(remove_finalizer(released, kCleanupFinalizer));
  REQUIRE(f.client->update(released).ok());
  CHECK(f.client->get(web.key()).status().code() == Code::kNotFound);
}

TEST_CASE("owner references: set, replace, one controller only", "[runtime][owners]") {
  Object owner;
  owner.json()["kind"] = "Module";
  owner.set_name("tools");
  owner.set_uid("u-1");
  Object other = owner;
  other.set_name("other");
  other.set_uid("u-2");
  Object dep;
  REQUIRE(set_owner_reference(dep, owner, /*controller=*/true).ok());
  REQUIRE(set_owner_reference(dep, owner, /*controller=*/true).ok());  // replaced, not doubled
  auto refs = owner_references(dep);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0] == OwnerReference{"cenv.io/v1", "Module", "tools", "u-1", true, true});
  CHECK(set_owner_reference(dep, other, true).code() == Code::kFailedPrecondition);
  REQUIRE(set_owner_reference(dep, other, false).ok());
  CHECK(owner_references(dep).size() == 2);
  CHECK(is_owned_by(dep, "u-2"));
  CHECK_FALSE(is_owned_by(dep, "u-3"));
  Object unsaved;
  unsaved.json()["kind"] = "Module";
  CHECK(set_owner_reference(dep, unsaved, false).code() == Code::kInvalid);
}

TEST_CASE("enqueue_owner maps a dependent to its owners of one kind", "[runtime][owners]") {
  Object dep;
  dep.set_ns("demo");
  dep.metadata()["ownerReferences"] = boost::json::array{
      {{"kind", "Module"}, {"name", "tools"}, {"uid", "1"}, {"controller", true}},
      {{"kind", "Module"}, {"name", "extra"}, {"uid", "2"}},
      {{"kind", "Environment"}, {"name", "demo"}, {"uid", "3"}}};
  CHECK(enqueue_owner("Module")(dep) ==
        std::vector<Request>{{"Module", "demo", "tools"}, {"Module", "demo", "extra"}});
  CHECK(enqueue_owner("Module", Scope::kNamespaced, /*only_controller=*/true)(dep) ==
        std::vector<Request>{{"Module", "demo", "tools"}});
  CHECK(enqueue_owner("Environment", Scope::kCluster)(dep) ==
        std::vector<Request>{{"Environment", "", "demo"}});
}

}  // namespace
}  // namespace cenv
