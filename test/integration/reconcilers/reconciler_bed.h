#pragma once
// ReconcilerBed: what the reconcilers' integration tests run on. The reconciler set of a cenv
// instance of its own ("<prefix>-<run id>", labelled cenv-test-run=<run id>) on an in-process
// API and SQLite store, against the real dockerd, with one Environment (its namespace `ns`)
// made Ready before the test starts. Whatever the run made in Docker is removed at the end
// (DockerCleanup); the set stops first.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "api/conditions.h"
#include "controller/app/reconciler_set.h"
#include "controller/store/log_hub.h"
#include "reconcilers/docker_names.h"
#include "test/integration/reconcilers/docker_test_env.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv::testing {

struct ReconcilerBed {
  // Starts the set (with a CommandRun controller) and creates the Environment `ns` with
  // `env_spec`, then waits (60 s) for it to be Ready.
  ReconcilerBed(const std::string& prefix, boost::json::object env_spec)
      : run_id(new_run_id()),
        ns(prefix + "-" + run_id),
        names(prefix + "-" + run_id, {{kTestRunLabel, run_id}}),
        docker(connect_docker()),
        cleanup(*docker, run_id, ns),
        connection(*docker),
        logs(*f.store) {
    start();
    f.create("Environment", "", ns, std::move(env_spec));
    REQUIRE(eventually([&] { return condition("Environment", "", ns, "Ready") == "True"; },
                       std::chrono::seconds(60)));
  }
  ~ReconcilerBed() {
    if (set) set->stop();
  }
  void start() {
    ReconcilerSetOptions o;
    o.names = names;
    o.workloads.stop_timeout_seconds = 2;
    o.logs = &logs;
    auto s = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    set = std::move(s.value());
  }
  // The object, or an empty one when it does not exist.
  Object get(const std::string& kind, const std::string& ns_, const std::string& name) {
    auto o = f.client->get({kind, ns_, name});
    return o.ok() ? o.value() : Object();
  }
  // The status of condition `type`, empty when it is not there.
  std::string condition(const std::string& kind, const std::string& ns_, const std::string& name,
                        std::string_view type) {
    auto c = get_condition(get(kind, ns_, name), type);
    return c ? c->status : "";
  }
  // Replaces the Environment's spec (retrying conflicts with the controllers' status writes).
  void set_environment_spec(const boost::json::object& spec) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      Object o = get("Environment", "", ns);
      o.spec() = spec;
      auto written = f.client->update(o);
      if (written.ok()) return;
      REQUIRE(written.status().code() == Code::kConflict);
    }
    FAIL("could not update Environment " << ns);
  }

  ApiFixture f;
  std::string run_id;
  std::string ns;
  // A cenv instance of its own: tests running at the same time share no Docker name (each
  // fixture makes an Environment "default", whose network would otherwise be cenv-default).
  DockerNames names;
  std::unique_ptr<docker::EngineDockerClient> docker;
  DockerCleanup cleanup;
  DockerConnection connection;
  LogHub logs;
  std::unique_ptr<ReconcilerSet> set;
};

}  // namespace cenv::testing
