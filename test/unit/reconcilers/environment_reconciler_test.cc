// EnvironmentReconciler against FakeDockerClient: network, base image, status, finalizer.

#include "reconcilers/environment_reconciler.h"

#include <catch2/catch.hpp>

#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

using testing::eventually;
using testing::ReconcilerBed;
using testing::spec_of;

ReconcilerSetOptions fast_recheck() {
  ReconcilerSetOptions o = ReconcilerBed::default_options();
  o.environment_recheck = std::chrono::milliseconds(20);
  return o;
}

TEST_CASE("environment: creates its labelled network and publishes the base image",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  Object env = bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  Object got = bed.get("Environment", "", "dev");
  CHECK(bed.status_field(got, "image") == testing::kBaseImage);
  CHECK(bed.status_field(got, "phase") == "Ready");
  CHECK(bed.condition_is("Environment", "", "dev", "NetworkReady", "True"));
  CHECK(bed.condition_is("Environment", "", "dev", "ImageReady", "True"));
  CHECK(has_finalizer(got, kCleanupFinalizer));
  CHECK(get_condition(got, "Ready")->observed_generation == got.generation());
  auto net = bed.docker.inspect_network("cenv-dev");
  REQUIRE(net.ok());
  CHECK(label_value(net->labels, kLabelManaged) == "true");
  CHECK(label_value(net->labels, kLabelKind) == "Environment");
  CHECK(label_value(net->labels, kLabelName) == "dev");
  CHECK(label_value(net->labels, kLabelUid) == env.uid());
}

TEST_CASE("environment: a network removed outside cenv is created again",
          "[reconcilers][environment]") {
  ReconcilerBed bed(fast_recheck());
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  auto first = bed.docker.inspect_network("cenv-dev");
  REQUIRE(first.ok());
  REQUIRE(bed.docker.remove_network("cenv-dev").ok());
  REQUIRE(eventually([&] {
    auto again = bed.docker.inspect_network("cenv-dev");
    return again.ok() && again->id != first->id;
  }));
}

TEST_CASE("environment: spec.network names the network", "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.environment("dev", spec_of(R"({"network": "shared-net"})"));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  CHECK(bed.docker.inspect_network("shared-net").ok());
  CHECK_FALSE(bed.docker.inspect_network("cenv-dev").ok());
}

TEST_CASE("environment: a missing base image without a registry is a clear condition, retried",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.environment("dev", spec_of(R"({"baseImage": "example/missing:1"})"));
  REQUIRE(eventually([&] {
    return bed.condition_is("Environment", "", "dev", "ImageReady", "False", "ImagePullFailed");
  }));
  Object got = bed.get("Environment", "", "dev");
  CHECK(bed.status_field(got, "phase") == "Failed");
  CHECK(bed.status_field(got, "image").empty());
  auto ready = get_condition(got, "Ready");
  REQUIRE(ready);
  CHECK(ready->status == "False");
  CHECK(ready->message.find("example/missing:1") != std::string::npos);
  // Loading the image (as scripts/bootstrap-images does) is noticed by the retries.
  bed.docker.add_image(testing::image("example/missing:1"));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
}

TEST_CASE("environment: pulls a missing base image when a registry answers",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.docker.set_registry_reachable(true);
  bed.docker.add_pullable_image("example/pullable:2", testing::image("example/pullable:2"));
  bed.environment("dev", spec_of(R"({"baseImage": "example/pullable:2"})"));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  CHECK(bed.docker.inspect_image("example/pullable:2").ok());
}

TEST_CASE("environment: Docker down is reported and recovered from", "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.docker.fail_next("inspect_network", Status::Unavailable("docker is not running"), 10);
  bed.environment("dev");
  REQUIRE(eventually([&] {
    return bed.condition_is("Environment", "", "dev", "NetworkReady", "False", "DockerUnavailable");
  }));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
}

TEST_CASE("environment: deleting it removes its network, then the object",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  REQUIRE(bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Environment", "", "dev").name().empty(); }));
  CHECK(bed.docker.inspect_network("cenv-dev").status().code() == Code::kNotFound);
}

TEST_CASE("environment: a network cenv did not create is used but never removed",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  REQUIRE(bed.docker.create_network({.name = "users-net"}).ok());
  bed.environment("dev", spec_of(R"({"network": "users-net"})"));
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  REQUIRE(bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Environment", "", "dev").name().empty(); }));
  CHECK(bed.docker.inspect_network("users-net").ok());
}

// A container on dev's network, as a controller would have made it for kind/name with `uid`
// (cenv's labels when `cenv_labels`, none otherwise). Returns its id.
std::string container_on_dev(ReconcilerBed& bed, const std::string& name, bool cenv_labels,
                             const std::string& kind = "Service", const std::string& uid = "") {
  docker::ContainerSpec spec;
  spec.name = name;
  spec.image = "cenv/base:bookworm";
  spec.network = "cenv-dev";
  if (cenv_labels) spec.labels = DockerNames().labels(kind, "dev", name, uid);
  auto id = bed.docker.create_container(spec);
  REQUIRE(id.ok());
  REQUIRE(bed.docker.start_container(*id).ok());
  return *id;
}

TEST_CASE("environment: deleting it removes the containers of objects already gone",
          "[reconcilers][environment]") {
  // A Service whose finalizers were removed by hand before the controller removed its
  // container leaves that container on the network; the namespace must not wait for it.
  ReconcilerBed bed;
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  std::string orphan = container_on_dev(bed, "ghost", true, "Service", "uid-of-a-gone-service");
  std::string run = container_on_dev(bed, "old-run", true, "CommandRun", "uid-of-a-gone-run");
  REQUIRE(bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Environment", "", "dev").name().empty(); }));
  CHECK(bed.docker.inspect_container(orphan).status().code() == Code::kNotFound);
  CHECK(bed.docker.inspect_container(run).status().code() == Code::kNotFound);
  CHECK(bed.docker.inspect_network("cenv-dev").status().code() == Code::kNotFound);
}

TEST_CASE("environment: a container cenv did not create holds the deletion until it leaves",
          "[reconcilers][environment]") {
  ReconcilerBed bed;
  bed.environment("dev");
  REQUIRE(eventually([&] { return bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  std::string users = container_on_dev(bed, "users-container", false);
  const size_t inspected = bed.docker.call_count("inspect_network");
  REQUIRE(bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  // Looked at twice since (the retry): still there, the container untouched.
  REQUIRE(eventually([&] { return bed.docker.call_count("inspect_network") >= inspected + 2; }));
  CHECK_FALSE(bed.get("Environment", "", "dev").name().empty());
  CHECK(bed.docker.inspect_container(users).ok());
  CHECK(bed.docker.call_count("remove_container") == 0);
  REQUIRE(bed.docker.remove_container(users, {.force = true}).ok());
  REQUIRE(eventually([&] { return bed.get("Environment", "", "dev").name().empty(); }));
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

TEST_CASE("environment: SecretsReady says whether its secrets open, naming one that does not",
          "[reconcilers][environment][secrets]") {
  testing::ReconcilerBed bed;
  bed.environment("dev", testing::spec_of(R"({"secrets": {"DB": "s3cret"}})"));
  REQUIRE(testing::eventually(
      [&] { return bed.condition_is("Environment", "", "dev", "SecretsReady", "True"); }));
  // A byte of the ciphertext flipped in the store, past the API.
  auto stored = bed.f.store->get({"Environment", "", "dev"});
  REQUIRE(stored.ok());
  Object tampered = stored.value();
  auto& value = tampered.spec()["secrets"].as_object()["DB"];
  std::string text(value.as_string());
  text[20] = text[20] == 'A' ? 'B' : 'A';
  value = text;
  bed.f.commit_raw({{WriteOp::kUpdate, tampered}});
  REQUIRE(testing::eventually([&] {
    return bed.condition_is("Environment", "", "dev", "SecretsReady", "False", "CannotOpen");
  }));
  auto cond = get_condition(bed.get("Environment", "", "dev"), "SecretsReady");
  REQUIRE(cond);
  CHECK(cond->message.find("Environment \"dev\" secret \"DB\"") != std::string::npos);
  CHECK(cond->message.find("s3cret") == std::string::npos);
}

}  // namespace
}  // namespace cenv
