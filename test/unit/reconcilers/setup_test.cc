// ReconcilerSetOptions::from_environment: CENV_CONTAINER_LABELS becomes docker_labels.

#include "reconcilers/setup.h"

#include <stdlib.h>

#include <catch2/catch.hpp>

namespace cenv {
namespace {

TEST_CASE("reconciler set options: CENV_CONTAINER_LABELS is parsed, bad entries skipped",
          "[reconcilers][setup]") {
  setenv("CENV_CONTAINER_LABELS", "run=42,bad,,=x,expr=a=b", 1);
  ReconcilerSetOptions o = ReconcilerSetOptions::from_environment();
  unsetenv("CENV_CONTAINER_LABELS");
  CHECK(o.docker_labels == docker::Labels{{"run", "42"}, {"expr", "a=b"}});
  CHECK(ReconcilerSetOptions::from_environment().docker_labels.empty());
}

}  // namespace
}  // namespace cenv
