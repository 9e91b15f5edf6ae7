// `cenv env build` and `cenv env image` on Environment objects written here: the annotation of a
// build request, following a build to its outcome, and the image (or why there is none).

#include "cli/env_cmd.h"

#include <catch2/catch.hpp>

#include "api/clock.h"
#include "api/kinds.h"
#include "cli/printers.h"

namespace cenv::cli {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const auto kRequested = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));

Object env_with(const std::string& image, const std::string& phase, const std::string& status,
                const std::string& reason, const std::string& message,
                std::chrono::system_clock::time_point changed) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = "Environment";
  o.set_name("demo");
  json::object st;
  if (!image.empty()) st["image"] = image;
  if (!phase.empty()) st["phase"] = phase;
  if (!status.empty()) {
    st["conditions"] = json::array{json::object{{"type", "ImageReady"},
                                                {"status", status},
                                                {"reason", reason},
                                                {"message", message},
                                                {"lastTransitionTime", format_rfc3339(changed)}}};
  }
  o.json()["status"] = std::move(st);
  return o;
}

TEST_CASE("env build annotates the Environment and keeps everything else", "[cli][env]") {
  Object env = env_with("img:1", "Ready", "True", "Built", "", kRequested - seconds(60));
  env.metadata()["annotations"] = json::object{{"team", "a"}};
  env.metadata()["labels"] = json::object{{"tier", "dev"}};
  env.spec()["baseImage"] = "cenv/base:bookworm";
  Object asked = with_build_request(env, kRequested);
  const json::object& ann = asked.metadata().at("annotations").as_object();
  CHECK(ann.at("team") == "a");
  CHECK(ann.at(kBuildRequestedAt) == json::value(format_rfc3339(kRequested)));
  asked.metadata()["annotations"].as_object().erase(kBuildRequestedAt);
  CHECK(asked == env);

  Object bare;
  bare.set_name("x");
  CHECK(with_build_request(bare, kRequested).metadata().at("annotations").as_object().size() == 1);
}

TEST_CASE("env build --wait follows the build from its steps to success", "[cli][env]") {
  BuildWatch build("img:1", kRequested);
  // Before the controller picked the request up: the old, ready image.
  CHECK(build.observe(env_with("img:1", "Ready", "True", "Built", "", kRequested - seconds(60))) ==
        BuildWatch::State::kWaiting);
  CHECK(build.detail().find("phase Ready") != std::string::npos);
  CHECK(build.observe(env_with("img:1", "Building", "False", "Building", "step 2/5: RUN apt-get",
                               kRequested)) == BuildWatch::State::kBuilding);
  CHECK(build.detail() == "step 2/5: RUN apt-get");
  CHECK(build.observe(env_with("img:1", "Ready", "True", "Built", "", kRequested + seconds(9))) ==
        BuildWatch::State::kDone);
}

TEST_CASE("env build --wait reports a failed build with its reason", "[cli][env]") {
  // The last build failed before the request: that is not this build's outcome.
  auto before = kRequested - seconds(60);
  BuildWatch build("", kRequested);
  CHECK(build.observe(env_with("", "Failed", "False", "BuildFailed", "old", before)) ==
        BuildWatch::State::kWaiting);
  // Building keeps the status False, so lastTransitionTime stays old: the steps seen count.
  CHECK(build.observe(env_with("", "Building", "False", "Building", "step 1/3", before)) ==
        BuildWatch::State::kBuilding);
  CHECK(build.observe(env_with("", "Failed", "False", "BuildFailed", "step 3/3: exit 1", before)) ==
        BuildWatch::State::kFailed);
  CHECK(build.detail() == "BuildFailed: step 3/3: exit 1");
}

TEST_CASE("env build --wait is done when a new image appears without steps seen", "[cli][env]") {
  BuildWatch build("img:1", kRequested);
  CHECK(build.observe(env_with("img:2", "Ready", "", "", "", kRequested)) ==
        BuildWatch::State::kDone);
  BuildWatch first("", kRequested);
  CHECK(first.observe(env_with("img:1", "Ready", "True", "Built", "", kRequested)) ==
        BuildWatch::State::kDone);
}

TEST_CASE("env image prints the image or names the phase and condition", "[cli][env]") {
  auto image = runtime_image(
      env_with("cenv-runtime/demo:0123456789ab", "Ready", "True", "Built", "", kRequested));
  REQUIRE(image.ok());
  CHECK(image.value() == "cenv-runtime/demo:0123456789ab");

  auto building =
      runtime_image(env_with("", "Building", "False", "Building", "step 1/4", kRequested));
  REQUIRE_FALSE(building.ok());
  CHECK(building.status().code() == Code::kFailedPrecondition);
  CHECK(building.status().message() ==
        "environment \"demo\" has no runtime image yet (phase Building; ImageReady=False "
        "(Building): step 1/4)");
  auto fresh = runtime_image(env_with("", "", "", "", "", kRequested));
  REQUIRE_FALSE(fresh.ok());
  CHECK(fresh.status().message().find("phase <none>; no ImageReady condition yet") !=
        std::string::npos);
}

TEST_CASE("get env counts the modules of the runtime image", "[cli][env]") {
  auto kinds = KindRegistry::builtin();
  REQUIRE(kinds.ok());
  const KindInfo* info = kinds.value()->find("env");
  REQUIRE(info);
  Object env = env_with("cenv-runtime/demo:1", "Ready", "True", "Built", "", kRequested);
  env.status()["modules"] = json::array{"jq@sha256:1", "greeter@sha256:2"};
  Object empty = env_with("", "Pending", "", "", "", kRequested);
  empty.set_name("fresh");
  std::ostringstream out;
  TableOptions options;
  print_table(*info, {env, empty}, options, kRequested, out);
  INFO(out.str());
  CHECK(out.str().find("NAME    PHASE     IMAGE                 MODULES   READY") == 0);
  CHECK(out.str().find("demo    Ready     cenv-runtime/demo:1   2 ") != std::string::npos);
  CHECK(out.str().find("fresh   Pending   <none>                <none>") != std::string::npos);
}

}  // namespace
}  // namespace cenv::cli
