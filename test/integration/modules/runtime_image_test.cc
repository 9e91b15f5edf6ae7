// An Environment's runtime image built by the real dockerd, in process: an inline Module that
// installs jq (apt, host network) makes `jq` run in the image; changing the last of two
// Modules rebuilds from Docker's cache up to it; a failing install keeps the previous image
// with BuildFailed. Everything runs under an instance of its own (CENV_INSTANCE-style names)
// and every image, container and network it made is removed at the end. Slow: one apt build.

#include "reconcilers/runtime_image.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>

#include "api/conditions.h"
#include "controller/app/reconciler_set.h"
#include "controller/server/logs_service.h"
#include "controller/store/log_hub.h"
#include "modules/manifest.h"
#include "reconcilers/docker_names.h"
#include "test/integration/reconcilers/docker_test_env.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::eventually;

// Inline Modules through the real manifest_from_inline; the revision is a digest of the spec.
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

// Removes every image labelled with the run id (the runtime images and, with them, their
// untagged cache layers).
struct ImageCleanup {
  docker::DockerClient& docker;
  std::string run_label;
  ~ImageCleanup() {
    auto images = docker.list_images({.label_filters = {run_label}});
    if (!images.ok()) return;
    for (const auto& i : images.value()) (void)docker.remove_image(i.id, {.force = true});
  }
};

struct Bed {
  Bed()
      : run_id(testing::new_run_id()),
        ns("img-" + run_id),
        names("it-" + run_id, {{testing::kTestRunLabel, run_id}}),
        docker(testing::connect_docker()),
        images{*docker, std::string(testing::kTestRunLabel) + "=" + run_id},
        cleanup(*docker, run_id, ns),
        connection(*docker),
        hub(*f.store) {
    ReconcilerSetOptions o;
    o.names = names;
    o.module_fetcher = &fetcher;
    o.logs = &hub;
    o.image_builds.progress_interval = std::chrono::milliseconds(200);
    auto s = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    set = std::move(s.value());
    f.create("Environment", "", ns);
    REQUIRE(
        eventually([&] { return condition("Ready") == "True/Ready"; }, std::chrono::seconds(60)));
  }
  ~Bed() {
    if (set) set->stop();
  }
  Object env() {
    auto o = f.client->get({"Environment", "", ns});
    return o.ok() ? o.value() : Object();
  }
  std::string condition(std::string_view type) {
    auto c = get_condition(env(), type);
    return c ? c->status + "/" + c->reason : "";
  }
  std::string message(std::string_view type) {
    auto c = get_condition(env(), type);
    return c ? c->message : "";
  }
  std::string image() {
    Object e = env();
    return e.status_or_null() ? std::string(Object::str_field(*e.status_or_null(), "image")) : "";
  }
  void apply_module(const std::string& name, const std::string& install,
                    boost::json::array apt = {}) {
    boost::json::object spec{{"install", install}};
    if (!apt.empty()) spec["requires"] = boost::json::object{{"apt", apt}};
    auto got = f.client->get({"Module", ns, name});
    if (got.ok()) {
      got->json()["spec"] = spec;
      REQUIRE(f.client->update(*got).ok());
    } else {
      f.create("Module", ns, name, spec);
    }
  }
  // Waits for the image to be ready on another tag than `old`, at most `limit`.
  bool rebuilt(const std::string& old, std::chrono::seconds limit) {
    return eventually(
        [&] { return condition("ImageReady") == "True/ImageBuilt" && image() != old; }, limit);
  }
  // The output of the last build, as `cenv logs env/NAME` prints it.
  std::string build_log() {
    LogsService logs(*f.api, hub, {});
    std::string text;
    Status s = logs.stream(
        {"env", "", ns, false, 0},
        [&](const LogFrame& frame) {
          text += frame.data;
          return true;
        },
        [] { return false; });
    REQUIRE(s.ok());
    return text;
  }
  // Runs `cmd` in a container of `image` and returns its output and exit code.
  std::pair<std::string, int> run(const std::string& image, std::vector<std::string> cmd) {
    auto id = docker->create_container(
        {.image = image, .cmd = std::move(cmd), .labels = {{testing::kTestRunLabel, run_id}}});
    REQUIRE(id.ok());
    REQUIRE(docker->start_container(*id).ok());
    auto waited = docker->wait_container(*id, docker::WaitCondition::kNotRunning, {},
                                         std::chrono::milliseconds(60'000));
    REQUIRE(waited.ok());
    std::string out;
    REQUIRE(docker
                ->container_logs(*id, {},
                                 [&](docker::StreamKind, std::string_view bytes) {
                                   out += bytes;
                                   return true;
                                 })
                .ok());
    (void)docker->remove_container(*id, {.force = true});
    return {out, waited->exit_code};
  }

  testing::ApiFixture f;
  const std::string run_id;
  const std::string ns;
  DockerNames names;
  std::unique_ptr<docker::EngineDockerClient> docker;
  ImageCleanup images;  // after the containers are gone (destroyed after `cleanup`)
  testing::DockerCleanup cleanup;
  DockerConnection connection;
  LogHub hub;
  InlineModuleFetcher fetcher;
  std::unique_ptr<ReconcilerSet> set;
};

TEST_CASE(
    "runtime image (docker): modules install jq, rebuild from cache and keep the last "
    "good image when an install fails",
    "[integration][docker][runtime-image]") {
  Bed b;
  const std::string base = b.image();
  REQUIRE(base == "cenv/base:bookworm");

  // Two modules, in name order: jq (apt), then tool (a script).
  b.apply_module("jq", "jq --version", {"jq"});
  b.apply_module("tool", "echo one > /opt/tool-version");
  auto started = std::chrono::steady_clock::now();
  REQUIRE(b.rebuilt(base, std::chrono::seconds(600)));
  auto first_build = std::chrono::steady_clock::now() - started;
  const std::string first = b.image();
  CHECK(first.starts_with("cenv.it-" + b.run_id + "-runtime/" + b.ns + ":"));
  CHECK(b.condition("Resolved") == "True/Resolved");
  auto [version, code] = b.run(first, {"jq", "--version"});
  CHECK(code == 0);
  CHECK(version.starts_with("jq-1."));
  CHECK(b.run(first, {"cat", "/opt/tool-version"}).first == "one\n");

  // Changing the last module rebuilds from its layer on: jq's come from the cache.
  b.apply_module("tool", "echo two > /opt/tool-version");
  started = std::chrono::steady_clock::now();
  REQUIRE(b.rebuilt(first, std::chrono::seconds(300)));
  auto rebuild = std::chrono::steady_clock::now() - started;
  const std::string second = b.image();
  std::string log = b.build_log();
  INFO(log);
  size_t apt_step = log.find("apt-get");
  REQUIRE(apt_step != std::string::npos);
  size_t next_step = log.find("Step ", apt_step);
  CHECK(log.substr(apt_step, next_step - apt_step).find("Using cache") != std::string::npos);
  CHECK(b.run(second, {"cat", "/opt/tool-version"}).first == "two\n");
  WARN("first build " << std::chrono::duration_cast<std::chrono::milliseconds>(first_build).count()
                      << " ms, rebuild after changing the last module "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(rebuild).count()
                      << " ms");

  // A failing install: the previous image keeps serving, and the condition says why.
  b.apply_module("tool", "echo about to fail; exit 3");
  REQUIRE(eventually([&] { return b.condition("ImageReady") == "False/BuildFailed"; },
                     std::chrono::seconds(300)));
  CHECK(b.image() == second);
  std::string why = b.message("ImageReady");
  CHECK(why.find("non-zero code: 3") != std::string::npos);
  CHECK(why.find("about to fail") != std::string::npos);
  CHECK(b.condition("Ready") == "False/BuildFailed");

  // Deleting the Environment removes its runtime images.
  const std::string uid(b.env().uid());
  REQUIRE(b.f.client->remove({"Environment", "", b.ns}, {}).ok());
  REQUIRE(eventually([&] { return b.env().name().empty(); }, std::chrono::seconds(120)));
  auto left = b.docker->list_images({.label_filters = runtime_image_filters(b.names, b.ns, uid)});
  REQUIRE(left.ok());
  CHECK(left->empty());
}

}  // namespace
}  // namespace cenv
