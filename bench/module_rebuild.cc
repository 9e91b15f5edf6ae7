// module_rebuild: the runtime image benchmark of bench/module_rebuild.sh (BENCHMARKS.md).
// In one process: the API on a temporary SQLite store, the ReconcilerSet against the real
// dockerd under an instance of its own, an Environment with 5 inline Modules (the first
// installs jq with apt, the others run a script each). It measures
//   * the first build of the 5;
//   * rounds of: changing the last Module and waiting for cenv's rebuild (the Module's write
//     until ImageReady on the new tag), then `docker build` (the CLI, legacy builder as cenv's
//     /build call uses, host network) of the same generated Dockerfile and context for another
//     change of the last Module, so both rebuild only the last layers from the same cache;
//   * the reconcile of the unchanged Environment (a second EnvironmentReconciler on the set's
//     informers, called directly), median and p95 of --reconciles calls.
// Prints RESULT lines; removes every image and network it made.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/conditions.h"
#include "api/kinds.h"
#include "controller/app/in_process_client.h"
#include "controller/app/reconciler_set.h"
#include "controller/docker/engine_docker_client.h"
#include "controller/server/api_service.h"
#include "controller/server/watch_hub.h"
#include "controller/store/log_hub.h"
#include "controller/store/sqlite_store.h"
#include "modules/manifest.h"
#include "modules/tar_archive.h"
#include "reconcilers/environment_reconciler.h"
#include "reconcilers/runtime_image.h"

namespace cenv {
namespace {

using Ms = std::chrono::duration<double, std::milli>;

class InlineModuleFetcher final : public ModuleFetcher {
 public:
  Result<FetchedModule> fetch(const Object& module) override {
    auto manifest = modules::manifest_from_inline(module);
    if (!manifest.ok()) return manifest.status();
    FetchedModule out;
    out.revision = "sha256:" + modules::sha256_hex(boost::json::serialize(*module.spec_or_null()));
    out.manifest = std::move(manifest).value();
    return out;
  }
};

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "module_rebuild: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const std::string& what) {
  if (!r.ok()) die(what, r.status());
  return std::move(r).value();
}

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

boost::json::object module_spec(int k, const std::string& version) {
  boost::json::object spec{{"install", "echo module" + std::to_string(k) + " " + version +
                                           " > /opt/m" + std::to_string(k)}};
  if (k == 1) spec["requires"] = boost::json::object{{"apt", boost::json::array{"jq"}}};
  return spec;
}

struct Bench {
  SystemClock clock;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<ApiServiceClient> client;
  std::unique_ptr<LogHub> logs;
  std::unique_ptr<docker::EngineDockerClient> docker;
  std::unique_ptr<DockerConnection> connection;
  InlineModuleFetcher fetcher;
  DockerNames names{"bench-" + std::to_string(getpid())};
  std::unique_ptr<ReconcilerSet> set;
  const std::string env = "mb";

  void start() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cenv-mb-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) die("mkdtemp", Status::Internal("failed"));
    dir = tmpl;
    store = must(SqliteStore::open((dir / "cenv.db").string(), clock), "open store");
    api = std::make_unique<ApiService>(*store, must(KindRegistry::builtin(), "kinds"), clock);
    hub = std::make_unique<WatchHub>(*store);
    api->set_on_commit([this] { hub->notify(); });
    if (Status s = api->ensure_default_namespace(); !s.ok()) die("default namespace", s);
    client = std::make_unique<ApiServiceClient>(*api);
    logs = std::make_unique<LogHub>(*store);
    docker = must(docker::EngineDockerClient::connect(docker::EngineOptions::from_environment()),
                  "connect to dockerd");
    connection = std::make_unique<DockerConnection>(*docker);
    ReconcilerSetOptions o;
    o.names = names;
    o.module_fetcher = &fetcher;
    o.logs = logs.get();
    set = must(ReconcilerSet::start(*api, *hub, *connection, clock, o), "start controllers");
  }
  void stop() {
    (void)client->remove({"Environment", "", env}, {});
    wait_for(
        [&] {
          return !client->get({"Environment", "", env}).ok();
        },
        std::chrono::seconds(120));
    set->stop();
    // The default Environment's network, made by the controllers (default is never deleted).
    (void)docker->remove_network(names.network(kDefaultNamespace));
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Object get(const std::string& kind, const std::string& ns, const std::string& name) {
    return must(client->get({kind, ns, name}), "get " + kind + " " + name);
  }
  std::string image() {
    Object e = get("Environment", "", env);
    return e.status_or_null() ? std::string(Object::str_field(*e.status_or_null(), "image")) : "";
  }
  bool built(const std::string& old) {
    auto c = get_condition(get("Environment", "", env), "ImageReady");
    return c && c->status == kConditionTrue && image() != old;
  }
  void write(const std::string& name, boost::json::object spec) {
    Object o;
    o.json()["apiVersion"] = kApiVersion;
    o.json()["kind"] = "Module";
    o.set_name(name);
    o.set_ns(env);
    auto got = client->get({"Module", env, name});
    if (got.ok()) o = *got;
    o.json()["spec"] = std::move(spec);
    if (got.ok()) {
      (void)must(client->update(o), "update " + name);
    } else {
      (void)must(client->create(o), "create " + name);
    }
  }
  // Milliseconds from writing `spec` to module m5 until the Environment uses a new image.
  double cenv_rebuild(const std::string& version) {
    std::string old = image();
    auto t0 = std::chrono::steady_clock::now();
    write("m5", module_spec(5, version));
    if (!wait_for([&] { return built(old); }, std::chrono::seconds(600))) {
      die("cenv rebuild", Status::Unavailable("no new image within 600 s"));
    }
    return Ms(std::chrono::steady_clock::now() - t0).count();
  }
  // Milliseconds of `docker build` of the recipe cenv would make with m5 at `version`.
  double peer_rebuild(const std::string& version, int round) {
    std::vector<ObjectPtr> modules;
    for (int k = 1; k <= 5; ++k) {
      Object m = get("Module", env, "m" + std::to_string(k));
      if (k == 5) m.json()["spec"] = module_spec(5, version);
      modules.push_back(std::make_shared<const Object>(std::move(m)));
    }
    auto resolved = must(resolve_environment_modules(modules, fetcher), "resolve");
    auto base_info = must(docker->inspect_image("cenv/base:bookworm"), "base image");
    auto plan = must(plan_runtime_image(get("Environment", "", env),
                                        {"cenv/base:bookworm", base_info.id}, resolved, names),
                     "recipe");
    std::string tar = must(modules::write_tar(plan.recipe.context(), false), "tar");
    std::string path = (dir / "context.tar").string();
    std::ofstream(path, std::ios::binary) << tar;
    std::string tag =
        "cenv-bench-peer/" + env + ":" + std::to_string(getpid()) + "-" + std::to_string(round);
    std::string cmd = "DOCKER_BUILDKIT=0 docker build -q --network host -t " + tag;
    for (const auto& [k, v] : plan.labels) cmd += " --label '" + k + "=" + v + "'";
    cmd += " - < " + path + " > /dev/null 2>" + (dir / "peer.err").string();
    auto t0 = std::chrono::steady_clock::now();
    int rc = std::system(cmd.c_str());
    double ms = Ms(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) die("docker build", Status::Internal("exit " + std::to_string(rc)));
    (void)docker->remove_image(tag, {.force = true});
    return ms;
  }
  // Reconciles of the unchanged Environment by a second reconciler on the set's informers.
  std::vector<double> unchanged_reconciles(int n) {
    InformerCache& cache = set->manager().cache();
    EnvironmentReconcilerOptions o;
    o.names = names;
    o.modules = &fetcher;
    EnvironmentReconciler r(cache.informer("Environment"), cache.informer("Module"), set->client(),
                            *connection, clock, o);
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      ReconcileResult res = r.reconcile({"Environment", "", env});
      out.push_back(Ms(std::chrono::steady_clock::now() - t0).count());
      if (!res.error.ok()) die("reconcile", res.error);
    }
    return out;
  }
};

int run(int rounds, int reconciles) {
  Bench b;
  b.start();
  Object env;
  env.json()["apiVersion"] = kApiVersion;
  env.json()["kind"] = "Environment";
  env.set_name(b.env);
  env.json()["spec"] = boost::json::object{};
  (void)must(b.client->create(env), "create Environment");
  wait_for([&] { return !b.image().empty(); }, std::chrono::seconds(60));
  const std::string base = b.image();
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 1; k <= 5; ++k) b.write("m" + std::to_string(k), module_spec(k, "v0"));
  if (!wait_for([&] { return b.built(base); }, std::chrono::seconds(900))) {
    die("first build", Status::Unavailable("no image within 900 s"));
  }
  std::printf("RESULT first_build_ms=%.0f\n", Ms(std::chrono::steady_clock::now() - t0).count());
  std::vector<double> ours, peers;
  for (int r = 1; r <= rounds; ++r) {
    double c = b.cenv_rebuild("v" + std::to_string(2 * r - 1));
    double p = b.peer_rebuild("v" + std::to_string(2 * r), r);
    std::printf("round %d: cenv rebuild %.0f ms, docker build %.0f ms, ratio %.2f\n", r, c, p,
                c / p);
    std::fflush(stdout);
    ours.push_back(c);
    peers.push_back(p);
  }
  auto rec = b.unchanged_reconciles(reconciles);
  double mc = percentile(ours, 0.5), mp = percentile(peers, 0.5);
  std::printf("RESULT rebuild_last_median_ms=%.0f docker_build_median_ms=%.0f ratio=%.2f\n", mc, mp,
              mc / mp);
  std::printf("RESULT unchanged_reconcile_p50_ms=%.2f p95_ms=%.2f max_ms=%.2f n=%d\n",
              percentile(rec, 0.5), percentile(rec, 0.95), percentile(rec, 1.0), reconciles);
  b.stop();
  return 0;
}

}  // namespace
}  // namespace cenv

int main(int argc, char** argv) {
  CLI::App app{"runtime image rebuild benchmark"};
  int rounds = 3, reconciles = 50;
  app.add_option("--rounds", rounds, "rebuild rounds (cenv, then docker build)");
  app.add_option("--reconciles", reconciles, "reconciles of the unchanged Environment");
  CLI11_PARSE(app, argc, argv);
  return cenv::run(rounds, reconciles);
}
