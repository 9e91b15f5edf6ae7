// DockerNames and ReconcilerSetOptions::from_environment: $CENV_INSTANCE names the instance,
// $CENV_CONTAINER_LABELS becomes the extra labels.

#include "controller/app/reconciler_set.h"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "reconcilers/docker_names.h"

namespace cenv {
namespace {

TEST_CASE("reconciler set options: CENV_CONTAINER_LABELS is parsed, bad entries skipped",
          "[reconcilers][setup]") {
  setenv("CENV_CONTAINER_LABELS", "run=42,bad,,=x,expr=a=b", 1);
  auto o = ReconcilerSetOptions::from_environment();
  unsetenv("CENV_CONTAINER_LABELS");
  REQUIRE(o.ok());
  CHECK(o->names.extra_labels() == docker::Labels{{"run", "42"}, {"expr", "a=b"}});
  CHECK(o->names.instance() == "default");
  auto plain = ReconcilerSetOptions::from_environment();
  REQUIRE(plain.ok());
  CHECK(plain->names.extra_labels().empty());
}

TEST_CASE("reconciler set options: CENV_INSTANCE names the instance, a bad one is refused",
          "[reconcilers][setup]") {
  setenv("CENV_INSTANCE", "ci-7", 1);
  auto o = ReconcilerSetOptions::from_environment();
  REQUIRE(o.ok());
  CHECK(o->names.instance() == "ci-7");
  setenv("CENV_INSTANCE", "Bad_Name", 1);
  auto bad = ReconcilerSetOptions::from_environment();
  unsetenv("CENV_INSTANCE");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("CENV_INSTANCE") != std::string::npos);
  CHECK(bad.status().message().find("Bad_Name") != std::string::npos);
  CHECK(!DockerNames::validate_instance("-x").ok());
  CHECK(!DockerNames::validate_instance(std::string(41, 'a')).ok());
  CHECK(DockerNames::validate_instance("").ok());
}

TEST_CASE("docker names: the default instance keeps DESIGN's names, a named one its own",
          "[reconcilers][setup]") {
  DockerNames def;
  CHECK(def.container("demo", "web") == "cenv-demo-web");
  CHECK(def.network("demo") == "cenv-demo");
  CHECK(def.volume("demo", "db", "data") == "cenv-demo-db-data");
  DockerNames ci("ci-7", {{"run", "42"}});
  CHECK(ci.container("demo", "web") == "cenv.ci-7-demo-web");
  CHECK(ci.network("demo") == "cenv.ci-7-demo");
  CHECK(ci.volume("demo", "db", "data") == "cenv.ci-7-demo-db-data");

  docker::Labels labels = ci.labels("Service", "demo", "web", "u1");
  CHECK(labels.at("run") == "42");
  CHECK(labels.at("io.cenv.instance") == "ci-7");
  CHECK(labels.at("io.cenv.uid") == "u1");
  CHECK(ci.owns(labels));
  CHECK(!def.owns(labels));  // another instance's container is never adopted
  CHECK(def.owns(def.labels("Service", "demo", "web", "u2")));
  CHECK(!def.owns({{"io.cenv.managed", "true"}}));  // unlabelled instance: not ours

  auto filters = ci.filters("Service", "demo", "web");
  CHECK(std::find(filters.begin(), filters.end(), "io.cenv.instance=ci-7") != filters.end());
  CHECK(std::find(filters.begin(), filters.end(), "io.cenv.name=web") != filters.end());
  auto all = def.managed_filters();
  CHECK(std::find(all.begin(), all.end(), "io.cenv.instance=default") != all.end());
}

}  // namespace
}  // namespace cenv
