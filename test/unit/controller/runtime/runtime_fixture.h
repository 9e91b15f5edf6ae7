#pragma once
// The runtime's test bed: a real ApiService and WatchHub on a SqliteStore in a temp dir, as
// envtest gives controller-runtime's tests a real API server.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/kinds.h"
#include "controller/app/api_event_source.h"
#include "controller/app/in_process_client.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/server/api_service.h"
#include "controller/server/watch_hub.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace cenv::testing {

struct ApiFixture {
  explicit ApiFixture(WatchHubOptions hub_options = fast_hub()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cenv-runtime-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    auto opened = SqliteStore::open((dir / "cenv.db").string(), wall);
    REQUIRE(opened.ok());
    store = std::move(opened.value());
    auto kinds = KindRegistry::builtin();
    REQUIRE(kinds.ok());
    api = std::make_unique<ApiService>(*store, kinds.value(), wall);
    api->set_secret_box(&secrets);
    hub = std::make_unique<WatchHub>(*store, hub_options);
    api->set_on_commit([this] { hub->notify(); });
    REQUIRE(api->ensure_default_namespace().ok());
    source = std::make_unique<ApiEventSource>(*api, *hub);
    client = std::make_unique<ApiServiceClient>(*api);
  }
  ~ApiFixture() {
    client.reset();
    source.reset();
    hub.reset();
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  static WatchHubOptions fast_hub() {
    WatchHubOptions o;
    o.poll_interval = std::chrono::milliseconds(50);
    return o;
  }

  // Seals Environment secrets in the store (a fresh data key), opens them for reconcilers.
  security::KeyringSecretBox secrets{security::DataKey::generate().value(), {}};

  // Creates (through the API) an object of `kind` named `name` in `ns` with `spec`.
  Object create(const std::string& kind, const std::string& ns, const std::string& name,
                boost::json::object spec = {}, boost::json::array owner_refs = {}) {
    Object o;
    o.json()["apiVersion"] = kApiVersion;
    o.json()["kind"] = kind;
    o.set_name(name);
    if (!ns.empty()) o.set_ns(ns);
    o.json()["spec"] = std::move(spec);
    if (!owner_refs.empty()) o.metadata()["ownerReferences"] = std::move(owner_refs);
    auto created = client->create(o);
    INFO(created.status().to_string());
    REQUIRE(created.ok());
    return created.value();
  }

  // Writes directly to the store, past the API (and its cascades), then wakes the hub.
  void commit_raw(std::vector<Write> writes) {
    auto done = store->commit(writes);
    INFO(done.status().to_string());
    REQUIRE(done.ok());
    hub->notify();
  }

  int64_t revision() { return store->revision().value(); }

  FakeClock wall;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<ApiEventSource> source;
  std::unique_ptr<ApiServiceClient> client;
};

inline boost::json::object owner_ref(const Object& owner) {
  return {{"apiVersion", kApiVersion},
          {"kind", owner.kind()},
          {"name", owner.name()},
          {"uid", owner.uid()}};
}

// Waits until `pred` holds. This is a wait on a condition, not a timing assertion: the limit
// only keeps a broken build from hanging, and is far beyond any healthy run.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace cenv::testing
