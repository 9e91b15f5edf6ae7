// The Environment's runtime image against FakeDockerClient and a fetcher of inline Modules:
// no modules (the base image, no build), one build per recipe, a changed Module (a new tag, old
// images removed), resolution errors, progress while building, failed builds (the old image
// kept, no retry) and `cenv env build` (the annotation).

#include "reconcilers/runtime_image.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <set>

#include "controller/server/logs_service.h"
#include "modules/manifest.h"
#include "reconcilers/environment_reconciler.h"
#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

using testing::eventually;
using testing::ReconcilerBed;
using testing::spec_of;

// Fetches inline Modules with the real manifest_from_inline; the revision is a digest of the
// spec. A Module named in fail() fails instead.
class InlineModuleFetcher final : public ModuleFetcher {
 public:
  Result<FetchedModule> fetch(const Object& module) override {
    std::lock_guard lock(mu_);
    ++fetches_;
    if (auto it = failures_.find(std::string(module.name())); it != failures_.end()) {
      return it->second;
    }
    auto manifest = modules::manifest_from_inline(module);
    if (!manifest.ok()) return manifest.status();
    FetchedModule out;
    out.revision = "sha256:" + modules::sha256_hex(boost::json::serialize(*module.spec_or_null()));
    out.manifest = std::move(manifest).value();
    return out;
  }
  void fail(const std::string& name, Status s) {
    std::lock_guard lock(mu_);
    failures_.insert_or_assign(name, std::move(s));
  }

 private:
  std::mutex mu_;
  int fetches_ = 0;                         // guarded by mu_
  std::map<std::string, Status> failures_;  // guarded by mu_
};

struct ImageBed {
  ImageBed() : bed(options(fetcher, hub)) { bed.environment("dev"); }
  static ReconcilerSetOptions options(InlineModuleFetcher& fetcher, LogHub& hub) {
    ReconcilerSetOptions o = ReconcilerBed::default_options();
    o.logs = &hub;
    o.environment_recheck = std::chrono::milliseconds(20);
    o.module_fetcher = &fetcher;
    o.image_builds.progress_interval = std::chrono::milliseconds(0);
    return o;
  }
  Object env() { return bed.get("Environment", "", "dev"); }
  std::string image() { return bed.status_field(env(), "image"); }
  std::string phase() { return bed.status_field(env(), "phase"); }
  bool image_ready(std::string_view status, std::string_view reason = {}) {
    return bed.condition_is("Environment", "", "dev", "ImageReady", status, reason);
  }
  std::string image_message() {
    auto c = get_condition(env(), "ImageReady");
    return c ? c->message : "";
  }
  void module(const std::string& name, std::string_view spec) {
    bed.f.create("Module", "dev", name, spec_of(spec));
  }
  void update_module(const std::string& name, std::string_view spec) {
    bed.update("Module", "dev", name, [&](Object& m) { m.json()["spec"] = spec_of(spec); });
  }
  void request_build(const std::string& at) {
    bed.update("Environment", "", "dev", [&](Object& e) {
      boost::json::object& meta = e.metadata();
      if (!meta["annotations"].is_object()) meta["annotations"] = boost::json::object();
      meta["annotations"].as_object()[std::string(kBuildRequestedAtAnnotation)] = at;
    });
  }
  // The tags of the runtime images built for dev.
  std::set<std::string> runtime_tags() {
    auto l = bed.docker.list_images(
        {.label_filters = runtime_image_filters(DockerNames(), "dev", env().uid())});
    REQUIRE(l.ok());
    std::set<std::string> out;
    for (const auto& i : l.value()) out.insert(i.tags.begin(), i.tags.end());
    return out;
  }
  bool ready_with_new_image(const std::string& old) {
    return image_ready(kConditionTrue) && !image().empty() && image() != old;
  }

  // The builds' output goes to a store of its own (the bed's API store is made with the bed,
  // after its options); LogsService reads objects from the API and logs from the hub's store.
  testing::ApiFixture log_store;
  LogHub hub{*log_store.store};
  InlineModuleFetcher fetcher;
  ReconcilerBed bed;
};

constexpr std::string_view kJq = R"({"requires": {"apt": ["jq"]}})";

TEST_CASE("runtime image: an Environment without modules runs its base image without a build",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  REQUIRE(
      eventually([&] { return b.bed.condition_is("Environment", "", "dev", "Ready", "True"); }));
  CHECK(b.image() == testing::kBaseImage);
  CHECK(b.bed.condition_is("Environment", "", "dev", "Resolved", "True"));
  CHECK(b.bed.docker.call_count("build_image") == 0);
}

TEST_CASE(
    "runtime image: modules build one content-addressed image and the same inputs build "
    "nothing more",
    "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  std::string tag = b.image();
  CHECK(tag.starts_with("cenv-runtime/dev:"));
  CHECK(tag.size() == std::string("cenv-runtime/dev:").size() + 12);
  Object env = b.env();
  CHECK(b.bed.status_field(env, "phase") == "Ready");
  const auto& modules = env.status_or_null()->at("modules").as_array();
  REQUIRE(modules.size() == 1);
  CHECK(std::string(modules[0].as_string()).starts_with("jq@sha256:"));
  const auto& build = env.status_or_null()->at("build").as_object();
  CHECK(Object::str_field(build, "result") == "Succeeded");
  CHECK(Object::str_field(build, "image") == tag);
  auto image = b.bed.docker.inspect_image(tag);
  REQUIRE(image.ok());
  CHECK(label_value(image->labels, kLabelManaged) == "true");
  CHECK(label_value(image->labels, kLabelKind) == "Environment");
  CHECK(label_value(image->labels, kLabelUid) == env.uid());
  CHECK(label_value(image->labels, "io.cenv.modules").starts_with("jq@sha256:"));
  CHECK(b.bed.docker.call_count("build_image") == 1);

  // A second Module: a second image.
  b.module("extra", R"({"install": "true"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(tag); }));
  std::string second = b.image();
  CHECK(b.bed.docker.call_count("build_image") == 2);
  REQUIRE(b.bed.f.client->remove({"Module", "dev", "extra"}, {}).ok());
  // Back to the first set of modules: its image still exists, so no build.
  REQUIRE(eventually([&] { return b.image() == tag; }));
  CHECK(b.bed.docker.call_count("build_image") == 2);
}

TEST_CASE("runtime image: a changed module makes a new tag and older images are removed",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("tool", R"({"install": "echo one"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  std::string first = b.image();
  b.update_module("tool", R"({"install": "echo two"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(first); }));
  std::string second = b.image();
  b.update_module("tool", R"({"install": "echo three"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(second); }));
  std::string third = b.image();
  // The one in use and the previous one stay.
  REQUIRE(eventually([&] { return b.runtime_tags() == std::set<std::string>{second, third}; }));
  CHECK(b.bed.docker.inspect_image(testing::kBaseImage).ok());
}

TEST_CASE("runtime image: a resolution error is a condition naming the modules and builds nothing",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("web", R"({"requires": {"modules": ["python"]}, "install": "true"})");
  REQUIRE(eventually([&] { return b.image_ready(kConditionFalse, "ModulesInvalid"); }));
  CHECK(b.bed.condition_is("Environment", "", "dev", "Resolved", "False", "ModulesInvalid"));
  CHECK(b.image_message().find("python") != std::string::npos);
  CHECK(b.phase() == "Failed");
  CHECK(b.bed.docker.call_count("build_image") == 0);
  // The missing module arrives: resolved and built.
  b.module("python", R"({"requires": {"apt": ["python3"]}})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  CHECK(b.bed.condition_is("Environment", "", "dev", "Resolved", "True"));
}

TEST_CASE("runtime image: a module that cannot be fetched or has a bad option is a condition",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.fetcher.fail("broken", Status::NotFound("spec.source.git.ref: no such ref \"nope\""));
  b.module("broken", R"({"install": "true"})");
  REQUIRE(eventually([&] { return b.image_ready(kConditionFalse, "ModulesInvalid"); }));
  CHECK(b.image_message().find("Module \"broken\": spec.source.git.ref") != std::string::npos);
  REQUIRE(b.bed.f.client->remove({"Module", "dev", "broken"}, {}).ok());
  b.module("opt", R"({"install": "true", "options": {"flavour": "full"}})");
  REQUIRE(eventually([&] {
    return b.image_ready(kConditionFalse, "ModulesInvalid") &&
           b.image_message().find("spec.options.flavour") != std::string::npos;
  }));
  CHECK(b.bed.docker.call_count("build_image") == 0);
}

TEST_CASE("runtime image: while it builds the phase is Building with the current step",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  std::atomic<bool> release{false};
  b.bed.docker.set_build_behavior(
      [&](const docker::BuildOptions&, const docker::ProgressCallback& out, std::stop_token stop) {
        out("Step 1/3 : FROM cenv/base:bookworm");
        out("Step 2/3 : RUN apt-get install jq");
        while (!release.load() && !stop.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        out("Step 3/3 : LABEL io.cenv.modules=...");
        return Status::Ok();
      });
  REQUIRE(eventually([&] { return b.image() == testing::kBaseImage; }));
  b.module("jq", kJq);
  REQUIRE(eventually([&] {
    return b.phase() == "Building" && b.image_ready(kConditionFalse, "Building") &&
           b.image_message().find("Step 2/3 : RUN apt-get install jq") != std::string::npos;
  }));
  // The base image keeps serving meanwhile.
  CHECK(b.image() == testing::kBaseImage);
  CHECK(b.bed.condition_is("Environment", "", "dev", "Ready", "False", "Building"));
  release = true;
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  CHECK(b.phase() == "Ready");
}

TEST_CASE("runtime image: a newer recipe cancels the running build",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  std::atomic<int> cancelled{0};
  std::atomic<bool> block{true};
  b.bed.docker.set_build_behavior(
      [&](const docker::BuildOptions&, const docker::ProgressCallback&, std::stop_token stop) {
        while (block.load()) {
          if (stop.stop_requested()) {
            ++cancelled;
            return Status::Unavailable("build: cancelled");
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return Status::Ok();
      });
  b.module("tool", R"({"install": "echo one"})");
  REQUIRE(eventually([&] { return b.phase() == "Building"; }));
  b.update_module("tool", R"({"install": "echo two"})");
  REQUIRE(eventually([&] { return cancelled.load() == 1; }));
  block = false;
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  // Only the second recipe's image was made.
  CHECK(b.runtime_tags() == std::set<std::string>{b.image()});
}

TEST_CASE("runtime image: a failed build keeps the old image and is not retried until asked",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("tool", R"({"install": "echo one"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  const std::string good = b.image();
  b.bed.docker.set_build_behavior(
      [](const docker::BuildOptions&, const docker::ProgressCallback& out, std::stop_token) {
        out("Step 1/3 : FROM cenv/base:bookworm");
        out("Step 2/3 : RUN [\"/bin/sh\", \"-ec\", \"exit 3\"]");
        out("oh no, something broke");
        return Status::Invalid(
            "build failed: The command '/bin/sh -ec exit 3' returned a non-zero code: 3");
      });
  b.update_module("tool", R"({"install": "exit 3"})");
  REQUIRE(eventually([&] { return b.image_ready(kConditionFalse, "BuildFailed"); }));
  std::string message = b.image_message();
  CHECK(message.find("at Step 2/3") != std::string::npos);
  CHECK(message.find("returned a non-zero code: 3") != std::string::npos);
  CHECK(message.find("oh no, something broke") != std::string::npos);
  CHECK(b.image() == good);
  CHECK(b.phase() == "Failed");
  const size_t builds = b.bed.docker.call_count("build_image");
  CHECK(builds == 2);
  // Rechecks every 20 ms: a window of many reconciles in which nothing may build.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(b.bed.docker.call_count("build_image") == builds);
  CHECK(b.image() == good);

  // `cenv env build dev`: the same recipe is tried again.
  b.bed.docker.set_build_behavior({});
  b.request_build("2026-12-02T10:00:00Z");
  REQUIRE(eventually([&] { return b.ready_with_new_image(good); }));
  CHECK(b.bed.docker.call_count("build_image") == builds + 1);
  Object env = b.env();
  const auto& build = env.status_or_null()->at("build").as_object();
  CHECK(Object::str_field(build, "requestedAt") == "2026-12-02T10:00:00Z");
  CHECK(build.at("attempt").as_int64() == 3);
}

TEST_CASE("runtime image: the annotation rebuilds an image that exists",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  const std::string tag = b.image();
  REQUIRE(b.bed.docker.call_count("build_image") == 1);
  b.request_build("2026-12-02T11:00:00Z");
  REQUIRE(eventually([&] { return b.bed.docker.call_count("build_image") == 2; }));
  REQUIRE(eventually([&] { return b.image_ready(kConditionTrue) && b.image() == tag; }));
}

TEST_CASE("runtime image: deleting the Environment removes its runtime images",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  const std::string uid(b.env().uid());
  // An image another instance built for an Environment of the same name stays.
  docker::ImageInfo foreign;
  foreign.tags = {"cenv.other-runtime/dev:0123456789ab"};
  foreign.labels = DockerNames("other").labels("Environment", "dev", "dev", uid);
  b.bed.docker.add_image(foreign);
  REQUIRE(b.bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  REQUIRE(eventually([&] { return b.bed.get("Environment", "", "dev").name().empty(); }));
  auto left =
      b.bed.docker.list_images({.label_filters = runtime_image_filters(DockerNames(), "dev", uid)});
  REQUIRE(left.ok());
  CHECK(left->empty());
  CHECK(b.bed.docker.inspect_image("cenv.other-runtime/dev:0123456789ab").ok());
}

// Everything `cenv logs env/dev` prints (following with `follow`), and the final frame.
std::pair<std::string, LogFrame> build_logs(ImageBed& b, bool follow, int64_t since = 0) {
  LogsService logs(*b.bed.f.api, b.hub, {});
  std::string text;
  LogFrame last;
  Status s = logs.stream(
      {"env", "", "dev", follow, since},
      [&](const LogFrame& f) {
        if (f.end) last = f;
        text += f.data;
        return true;
      },
      [] { return false; });
  INFO(s.to_string());
  REQUIRE(s.ok());
  return {text, last};
}

TEST_CASE("runtime image: cenv logs env/NAME streams the last build's output",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  std::atomic<int> build{0};
  std::atomic<bool> release{false};
  b.bed.docker.set_build_behavior(
      [&](const docker::BuildOptions&, const docker::ProgressCallback& out, std::stop_token stop) {
        int n = ++build;
        out("Step 1/2 : FROM cenv/base:bookworm");
        while (n == 1 && !release.load() && !stop.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        out("Step 2/2 : RUN build number " + std::to_string(n));
        return Status::Ok();
      });
  b.module("tool", R"({"install": "echo one"})");
  REQUIRE(eventually([&] { return b.phase() == "Building"; }));
  // A follower started while the build runs sees it to the end.
  std::pair<std::string, LogFrame> followed;
  std::thread follower([&] { followed = build_logs(b, true); });
  REQUIRE(
      eventually([&] { return build_logs(b, false).first.find("Step 1/2") != std::string::npos; }));
  release = true;
  follower.join();
  CHECK(followed.first.find("Step 1/2 : FROM") != std::string::npos);
  CHECK(followed.first.find("RUN build number 1") != std::string::npos);
  CHECK(followed.second.end);
  CHECK(followed.second.phase == "Succeeded");
  CHECK(followed.second.exit_code == 0);

  // The follower ends when the build's result is written; the image may land a moment later.
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  const std::string first = b.image();
  b.update_module("tool", R"({"install": "echo two"})");
  REQUIRE(eventually([&] { return b.ready_with_new_image(first); }));
  auto [text, end] = build_logs(b, true);
  INFO("logs: " << text);
  CHECK(text.find("RUN build number 2") != std::string::npos);
  CHECK(text.find("RUN build number 1") == std::string::npos);
  CHECK(text.starts_with("cenv: building " + b.image()));
  CHECK(end.phase == "Succeeded");
  // Offsets count from the build's first byte.
  CHECK(build_logs(b, false, 6).first == text.substr(6));
}

TEST_CASE("runtime image: the Environment's log keeps the last three builds",
          "[reconcilers][runtime-image]") {
  ImageBed b;
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  for (int n = 2; n <= 5; ++n) {
    b.request_build("2026-12-02T1" + std::to_string(n) + ":00:00Z");
    REQUIRE(eventually([&] { return b.bed.docker.call_count("build_image") == size_t(n); }));
    REQUIRE(eventually([&] {
      Object env = b.env();
      const boost::json::object* st = env.status_or_null();
      const boost::json::value* build = st ? st->if_contains("build") : nullptr;
      return build && build->as_object().at("attempt").as_int64() == n &&
             Object::str_field(build->as_object(), "result") == "Succeeded";
    }));
  }
  auto summary = b.log_store.store->log_summary(std::string(b.env().uid()));
  REQUIRE(summary.ok());
  std::set<int> attempts;
  for (const auto& part : summary->parts) attempts.insert(part.attempt);
  CHECK(attempts == std::set<int>{3, 4, 5});
}

// spec.registry of "dev": reg.example:5000 with the credentials `credentials`.
void use_registry(ImageBed& b, std::string_view credentials, bool push) {
  b.bed.update("Environment", "", "dev", [&](Object& env) {
    env.spec()["secrets"] = boost::json::object{{"regcred", credentials}};
    env.spec()["registry"] = boost::json::object{
        {"server", "reg.example:5000"}, {"credentialsSecret", "regcred"}, {"push", push}};
  });
}

struct PushBed : ImageBed {
  PushBed() {
    bed.docker.set_registry_reachable(true);
    bed.docker.require_registry_credentials("reg.example:5000",
                                            {"alice", "pw-1", "reg.example:5000"});
  }
  std::string pushed_image() { return bed.status_field(env(), "pushedImage"); }
};

TEST_CASE(
    "runtime image: with spec.registry.push the built image is pushed and its containers "
    "run the registry's reference",
    "[reconcilers][runtime-image][registry]") {
  PushBed b;
  use_registry(b, "alice:pw-1", false);
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.ready_with_new_image(testing::kBaseImage); }));
  const std::string tag = b.image();
  CHECK(tag.starts_with("cenv-runtime/dev:"));
  CHECK(b.bed.docker.call_count("push_image") == 0);  // push: false
  CHECK(b.pushed_image().empty());

  // Push turned on: the image there is pushed, not built again.
  use_registry(b, "alice:pw-1", true);
  const std::string pushed = "reg.example:5000/" + tag;
  REQUIRE(eventually([&] { return b.image() == pushed && b.image_ready(kConditionTrue); }));
  CHECK(b.pushed_image() == pushed);
  CHECK(b.bed.docker.pushed_images() == std::vector<std::string>{pushed});
  CHECK(b.bed.docker.call_count("build_image") == 1);
  CHECK_THAT(b.image_message(), Catch::Contains("pushed as " + pushed));
  // A Service without an image of its own runs the pushed reference.
  b.bed.service("dev", "web");
  REQUIRE(eventually([&] { return b.bed.ready("dev", "web"); }));
  CHECK(b.bed.container(b.bed.containers("dev", "web")[0].id).image == pushed);
  REQUIRE(b.bed.f.client->remove({"Service", "dev", "web"}, {}).ok());
  REQUIRE(eventually([&] { return b.bed.get("Service", "dev", "web").name().empty(); }));

  // Deleting the Environment removes the image under both its names.
  const std::string uid(b.env().uid());
  REQUIRE(b.bed.f.client->remove({"Environment", "", "dev"}, {}).ok());
  REQUIRE(eventually([&] { return b.bed.get("Environment", "", "dev").name().empty(); }));
  auto left =
      b.bed.docker.list_images({.label_filters = runtime_image_filters(DockerNames(), "dev", uid)});
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE(
    "runtime image: a refused push is RegistryUnauthorized and Stalled, and new credentials "
    "push without a rebuild",
    "[reconcilers][runtime-image][registry]") {
  PushBed b;
  use_registry(b, "alice:wrong-pw", true);
  b.module("jq", kJq);
  REQUIRE(eventually([&] { return b.image_ready(kConditionFalse, "RegistryUnauthorized"); }));
  CHECK_THAT(b.image_message(), Catch::Contains("registry reg.example:5000 refused to push "
                                                "reg.example:5000/cenv-runtime/dev:"));
  CHECK_THAT(b.image_message(), Catch::Contains("spec.registry.credentialsSecret \"regcred\""));
  CHECK_THAT(b.image_message(), !Catch::Contains("wrong-pw"));
  CHECK(b.bed.condition_is("Environment", "", "dev", "Stalled", kConditionTrue,
                           "RegistryUnauthorized"));
  CHECK_FALSE(b.image().starts_with("reg.example:5000/"));
  CHECK(b.pushed_image().empty());
  CHECK(b.bed.docker.pushed_images().empty());
  CHECK(b.bed.docker.call_count("build_image") == 1);
  // Not retried while the spec stays as it is.
  const size_t pushes = b.bed.docker.call_count("push_image");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(b.bed.docker.call_count("push_image") == pushes);

  use_registry(b, "alice:pw-1", true);
  REQUIRE(eventually([&] { return b.image().starts_with("reg.example:5000/cenv-runtime/dev:"); }));
  CHECK(b.image_ready(kConditionTrue));
  CHECK(b.bed.docker.pushed_images().size() == 1);
  CHECK(b.bed.docker.call_count("build_image") == 1);
  CHECK_FALSE(get_condition(b.env(), "Stalled"));
}

TEST_CASE("runtime image: a named instance prefixes the repository",
          "[reconcilers][runtime-image]") {
  CHECK(runtime_image_repository(DockerNames(), "dev") == "cenv-runtime/dev");
  CHECK(runtime_image_repository(DockerNames("it-42"), "dev") == "cenv.it-42-runtime/dev");
}

}  // namespace
}  // namespace cenv
