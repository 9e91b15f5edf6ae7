#pragma once
// CommandRunBed: the CommandRun reconciler on a real API (SQLite) and a fake Docker, for the
// CommandRun unit tests. reconcile() is driven by the test (drive()).

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "reconcilers/commandrun.h"
#include "test/fakes/fake_docker_client.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv::testing {

namespace json = boost::json;
using docker::FakeDockerClient;

inline docker::ImageInfo image(const std::string& tag) {
  docker::ImageInfo i;
  i.tags = {tag};
  return i;
}

// The reconciler on a real API (SQLite) and a fake Docker. reconcile() is driven by the
// test: again after each notify (an attempt ended) or requeue, until a condition holds.
struct CommandRunBed {
  ApiFixture api;
  SystemClock clock;
  FakeDockerClient docker{&clock};
  DockerConnection connection{docker};
  LogHub logs{*api.store};
  std::unique_ptr<CommandRunReconciler> reconciler;

  std::mutex mu;
  std::condition_variable notified_cv;
  int notified = 0;  // guarded by mu

  CommandRunBed() {
    docker.add_image(image("cenv/base:bookworm"));
    json::object env_spec{{"baseImage", "cenv/base:bookworm"},
                          {"variables", json::object{{"GREETING", "hi"}, {"MODE", "env"}}},
                          {"secrets", json::object{{"TOKEN", "s3cret"}}}};
    api.create("Environment", "", "dev", env_spec);
    make_reconciler();
  }

  // Adjusts the options of the next make_reconciler().
  std::function<void(CommandRunReconcilerOptions&)> tune;

  void make_reconciler() {
    CommandRunReconcilerOptions options;
    options.wait_interval = std::chrono::milliseconds(20);
    options.backoff_base = std::chrono::milliseconds(20);
    options.exec_kill_grace = std::chrono::milliseconds(200);
    options.exec_poll_interval = std::chrono::milliseconds(20);
    options.secrets = &api.secrets;
    if (tune) tune(options);
    reconciler =
        std::make_unique<CommandRunReconciler>(*api.client, connection, logs, clock, options);
    reconciler->set_notify([this](const Request&) {
      std::lock_guard lock(mu);
      ++notified;
      notified_cv.notify_all();
    });
  }

  Object run(const std::string& name, json::object spec) {
    return api.create("CommandRun", "dev", name, std::move(spec));
  }

  Result<Object> get(const std::string& name) {
    return api.client->get({"CommandRun", "dev", name});
  }

  // Reconciles `name` until `done(object or nullptr when gone)` holds; fails after 10 s.
  void drive(const std::string& name, const std::function<bool(const Object*)>& done) {
    const Request req{"CommandRun", "dev", name};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      int seen;
      {
        std::lock_guard lock(mu);
        seen = notified;
      }
      ReconcileResult r = reconciler->reconcile(req);
      INFO(r.error.to_string());
      auto obj = get(name);
      if (done(obj.ok() ? &*obj : nullptr)) return;
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL("condition not met in 10 s; object: " << (obj.ok() ? obj->to_json() : "gone"));
      }
      std::unique_lock lock(mu);
      notified_cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return notified != seen; });
    }
  }

  static std::string phase(const Object* o) {
    if (!o || !o->status_or_null()) return "";
    return std::string(Object::str_field(*o->status_or_null(), "phase"));
  }

  std::string stored_output(const Object& o, LogStream only, bool filter = true) {
    auto chunks = api.store->read_log(std::string(o.uid()), 0, 1 << 30);
    REQUIRE(chunks.ok());
    std::string out;
    for (const auto& c : *chunks) {
      if (!filter || c.stream == only) out += c.data;
    }
    return out;
  }
};

inline json::object command(std::initializer_list<const char*> args, json::object extra = {}) {
  json::array a;
  for (const char* s : args) a.emplace_back(s);
  extra["command"] = std::move(a);
  return extra;
}

}  // namespace cenv::testing
