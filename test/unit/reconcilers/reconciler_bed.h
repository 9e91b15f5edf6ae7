#pragma once
// The reconcilers' unit test bed: the whole ReconcilerSet (manager, informers, controllers,
// prober, Docker event source) on a real ApiService over a temporary SqliteStore
// (runtime_fixture.h), with FakeDockerClient in place of dockerd.

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/conditions.h"
#include "api/finalizers.h"
#include "controller/app/reconciler_set.h"
#include "reconcilers/docker_names.h"
#include "test/fakes/fake_docker_client.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv::testing {

inline constexpr const char* kBaseImage = "cenv/base:bookworm";

// An image tagged `tag`, for FakeDockerClient::add_image.
inline docker::ImageInfo image(const std::string& tag) {
  docker::ImageInfo i;
  i.tags = {tag};
  return i;
}

struct ReconcilerBed {
  explicit ReconcilerBed(ReconcilerSetOptions options = default_options())
      : connection(docker), options_(std::move(options)) {
    docker.add_image(testing::image(kBaseImage));
    docker.set_registry_reachable(false);
    start();
  }
  ~ReconcilerBed() { stop(); }

  // Fast informers, retries, probes and reconnects, so tests wait little.
  static ReconcilerSetOptions default_options() {
    ReconcilerSetOptions o;
    o.manager.informers.poll_interval = std::chrono::milliseconds(10);
    o.queue.max_delay = std::chrono::milliseconds(200);
    o.health.start_interval = std::chrono::milliseconds(20);
    o.docker_events.min_backoff = std::chrono::milliseconds(10);
    o.docker_events.max_backoff = std::chrono::milliseconds(50);
    o.workloads.stop_timeout_seconds = 0;
    return o;
  }
  void start() {
    ReconcilerSetOptions o = options_;
    o.secrets = &f.secrets;
    // tcpPort checks succeed while tcp_ok is set; while tcp_hang is set they wait (up to
    // their timeout) before answering.
    o.tcp_dialer = [this](const std::string&, uint16_t, std::chrono::milliseconds timeout) {
      auto until = std::chrono::steady_clock::now() + timeout;
      while (tcp_hang.load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return tcp_ok.load() ? Status::Ok() : Status::Unavailable("connection refused");
    };
    auto s = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    set = std::move(s.value());
  }
  void stop() {
    if (set) set->stop();
    set.reset();
  }

  Object environment(const std::string& name, boost::json::object spec = {}) {
    return f.create("Environment", "", name, std::move(spec));
  }
  Object service(const std::string& ns, const std::string& name, boost::json::object spec = {}) {
    return f.create("Service", ns, name, std::move(spec));
  }
  // Changes a stored object through the API as a client would: the controllers write its
  // status meanwhile, so a conflict reads it again and applies the change again.
  void update(const std::string& kind, const std::string& ns, const std::string& name,
              const std::function<void(Object&)>& change) {
    Result<Object> written = Status::Conflict("not tried");
    for (int attempt = 0; attempt < 20 && !written.ok(); ++attempt) {
      Object o = get(kind, ns, name);
      change(o);
      written = f.client->update(o);
      if (!written.ok() && written.status().code() != Code::kConflict) break;
    }
    INFO(kind << " " << ns << "/" << name << ": " << written.status().to_string());
    REQUIRE(written.ok());
  }
  // The stored object, or an empty Object when it is gone.
  Object get(const std::string& kind, const std::string& ns, const std::string& name) {
    auto o = f.client->get({kind, ns, name});
    return o.ok() ? o.value() : Object();
  }
  std::string status_field(const Object& o, std::string_view field) {
    const auto* st = o.status_or_null();
    return st ? std::string(Object::str_field(*st, field)) : "";
  }
  int64_t restarts(const Object& o) {
    const auto* st = o.status_or_null();
    const auto* r = st ? st->if_contains("restarts") : nullptr;
    return r && r->is_number() ? r->to_number<int64_t>() : -1;
  }
  bool condition_is(const std::string& kind, const std::string& ns, const std::string& name,
                    std::string_view type, std::string_view status, std::string_view reason = {}) {
    auto c = get_condition(get(kind, ns, name), type);
    return c && c->status == status && (reason.empty() || c->reason == reason);
  }
  bool ready(const std::string& ns, const std::string& name) {
    return condition_is("Service", ns, name, "Ready", kConditionTrue);
  }
  // Containers cenv created for Service ns/name.
  std::vector<docker::ContainerSummary> containers(const std::string& ns, const std::string& name) {
    auto l = docker.list_containers(
        {.all = true, .label_filters = DockerNames().filters("Service", ns, name)});
    REQUIRE(l.ok());
    return l.value();
  }
  docker::ContainerInfo container(const std::string& id) {
    auto c = docker.inspect_container(id);
    REQUIRE(c.ok());
    return c.value();
  }
  // The image of Service ns/name's one container; "" while it has none or several, or the one
  // listed is removed before it is inspected (a replacement in progress), for eventually().
  std::string container_image(const std::string& ns, const std::string& name) {
    auto l = docker.list_containers(
        {.all = true, .label_filters = DockerNames().filters("Service", ns, name)});
    if (!l.ok() || l->size() != 1) return "";
    auto c = docker.inspect_container(l->front().id);
    return c.ok() ? c->image : "";
  }
  std::string explain(const std::string& kind, const std::string& ns, const std::string& name) {
    return get(kind, ns, name).to_json();
  }

  ApiFixture f;
  docker::FakeDockerClient docker;
  DockerConnection connection;
  std::atomic<bool> tcp_ok{true};
  std::atomic<bool> tcp_hang{false};
  const ReconcilerSetOptions options_;
  std::unique_ptr<ReconcilerSet> set;
};

inline boost::json::object spec_of(std::string_view json_text) {
  return boost::json::parse(json_text).as_object();
}

}  // namespace cenv::testing
