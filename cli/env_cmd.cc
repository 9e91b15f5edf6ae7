#include "cli/env_cmd.h"

#include <iostream>

#include "api/clock.h"
#include "api/conditions.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/sync_request.h"
#include "cli/common.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

constexpr const char* kFieldManager = "cenv-env-build";

// "phase Building; ImageReady=False (Building): step 3/7: RUN apt-get install jq".
std::string image_state(const Object& env) {
  std::string phase(string_field(env.status_or_null(), "phase"));
  std::string text = "phase " + (phase.empty() ? std::string("<none>") : phase);
  auto c = get_condition(env, "ImageReady");
  if (!c) return text + "; no ImageReady condition yet";
  text += "; ImageReady=" + c->status;
  if (!c->reason.empty()) text += " (" + c->reason + ")";
  if (!c->message.empty()) text += ": " + c->message;
  return text;
}

// Records the request on the Environment. Returns the stored Environment.
Result<Object> request_build(ControllerClient& client, const std::string& name,
                             std::chrono::system_clock::time_point at) {
  return change_environment(
      client, name,
      [at](Object& env) {
        env = with_build_request(std::move(env), at);
        return Status::Ok();
      },
      kFieldManager);
}

// --wait: follows the Environment until the build's outcome, printing each new step.
int wait_for_build(ControllerClient& client, const std::string& name, BuildWatch& build,
                   std::chrono::system_clock::time_point deadline, const std::string& timeout) {
  BuildWatch::State state = BuildWatch::State::kWaiting;
  std::string shown;
  Status s = client.watch(
      "Environment", "", "", "",
      [&](const std::string& type, const Object& env) {
        if (env.name() != name) return true;
        if (type == "DELETED") {
          state = BuildWatch::State::kFailed;
          return false;
        }
        if (type == "BOOKMARK") return true;
        state = build.observe(env);
        if (state == BuildWatch::State::kBuilding && build.detail() != shown) {
          shown = build.detail();
          std::cerr << "building: " << escape_for_display(shown) << "\n";
        }
        return state != BuildWatch::State::kDone && state != BuildWatch::State::kFailed;
      },
      deadline);
  if (state == BuildWatch::State::kDone) {
    auto env = client.get("Environment", "", name);
    std::string image = env.ok() ? std::string(string_field(env->status_or_null(), "image")) : "";
    std::cout << "environment/" << name << " built" << (image.empty() ? "" : ": " + image) << "\n";
    return 0;
  }
  if (state == BuildWatch::State::kFailed) {
    std::cerr << "error: the build of environment/" << name << " failed"
              << (build.detail().empty() ? " (the Environment was deleted)"
                                         : ": " + escape_for_display(build.detail()))
              << "\n";
    return 1;
  }
  if (!s.ok() && std::chrono::system_clock::now() < deadline) {
    print_error(s);
    return 1;
  }
  std::cerr << "error: timed out after " << timeout << " waiting for the build of environment/"
            << name << " (" << escape_for_display(build.detail()) << ")\n";
  return 1;
}

}  // namespace

Result<Object> change_environment(ControllerClient& client, const std::string& name,
                                  const std::function<Status(Object&)>& change,
                                  const std::string& field_manager) {
  for (int attempt = 0;; ++attempt) {
    auto live = client.get("Environment", "", name);
    if (!live.ok()) return live.status();
    if (Status s = change(live.value()); !s.ok()) return s;
    auto stored = client.update(live.value(), field_manager);
    if (stored.ok() || stored.status().code() != Code::kConflict || attempt == 4) return stored;
  }
}

Object with_build_request(Object env, std::chrono::system_clock::time_point at) {
  set_annotation(env, kBuildRequestedAt, format_rfc3339(at));
  return env;
}

BuildWatch::State BuildWatch::observe(const Object& env) {
  std::string image(string_field(env.status_or_null(), "image"));
  auto c = get_condition(env, "ImageReady");
  std::chrono::system_clock::time_point changed{};
  bool after_request =
      c && parse_rfc3339(c->last_transition_time, &changed) && changed >= requested_;
  if (c && c->reason == "Building" && c->status != kConditionTrue) {
    saw_building_ = true;
    detail_ = c->message.empty() ? "building" : c->message;
    return State::kBuilding;
  }
  if (c && c->status == kConditionTrue && (saw_building_ || after_request)) return State::kDone;
  if (c && c->status == kConditionFalse && (saw_building_ || after_request)) {
    detail_ = c->reason + (c->message.empty() ? "" : ": " + c->message);
    return State::kFailed;
  }
  if (!image.empty() && image != image_before_) return State::kDone;
  detail_ = image_state(env);
  return State::kWaiting;
}

Result<std::string> runtime_image(const Object& env) {
  std::string image(string_field(env.status_or_null(), "image"));
  if (!image.empty()) return image;
  return Status::FailedPrecondition("environment \"" + std::string(env.name()) +
                                    "\" has no runtime image yet (" + image_state(env) + ")");
}

int run_env_build(const Context& context, const std::string& ns, const EnvBuildFlags& flags) {
  const std::string name = flags.name.empty() ? ns : flags.name;
  if (name.empty()) {
    print_error(Status::Invalid("cenv env build needs the Environment: cenv env build NAME"),
                false);
    return 1;
  }
  auto timeout = parse_duration(flags.timeout);
  if (!timeout.ok()) {
    print_error(timeout.status().with_prefix("--timeout"), false);
    return 1;
  }
  auto client = context.connect();
  auto requested =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto before = client->get("Environment", "", name);
  if (!before.ok()) {
    print_error(before.status());
    return 1;
  }
  BuildWatch build(std::string(string_field(before->status_or_null(), "image")), requested);
  auto stored = request_build(*client, name, requested);
  if (!stored.ok()) {
    print_error(stored.status());
    return 1;
  }
  std::cout << "environment/" << escape_for_display(name) << " build requested\n";
  std::cout.flush();
  if (!flags.wait) return 0;
  return wait_for_build(*client, name, build, std::chrono::system_clock::now() + timeout.value(),
                        flags.timeout);
}

int run_env_image(const Context& context, const std::string& ns, const std::string& name_arg) {
  const std::string name = !name_arg.empty() ? name_arg : (ns.empty() ? "default" : ns);
  auto env = context.connect()->get("Environment", "", name);
  if (!env.ok()) {
    print_error(env.status());
    return 1;
  }
  auto image = runtime_image(env.value());
  if (!image.ok()) {
    print_error(image.status(), false);
    return 1;
  }
  std::cout << image.value() << "\n";
  return 0;
}

}  // namespace cenv::cli
