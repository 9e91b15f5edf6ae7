#pragma once
// `cenv env build NAME [--wait]` asks the controller to rebuild an Environment's runtime image
// now (as `kubectl rollout restart` asks for a rollout: an annotation with the time of the
// request); `cenv env image NAME` prints the image the Environment runs on.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "api/annotations.h"
#include "api/object.h"
#include "api/status.h"
#include "cli/context.h"
#include "cli/controller_client.h"

namespace cenv::cli {

// The annotation `env build` sets on the Environment: when the rebuild was asked for (RFC 3339).
inline constexpr std::string_view kBuildRequestedAt = kBuildRequestedAtAnnotation;

struct EnvBuildFlags {
  std::string name;             // the Environment; empty: the -n flag's
  bool wait = false;            // wait for the build's outcome, printing its steps on stderr
  std::string timeout = "10m";  // how long --wait waits
};

// `env`, with metadata.annotations[kBuildRequestedAt] = `at`; every other field as it was.
Object with_build_request(Object env, std::chrono::system_clock::time_point at);

// Changes the Environment `name` as the controller stores it: reads it, lets `change` edit it
// (its error is returned as is, nothing written), and updates it as `field_manager`; a
// concurrent write (Conflict) makes it read again (up to 5 times). Returns the stored
// Environment. The one path of the requests made on Environments (env build, sync, suspend).
Result<Object> change_environment(ControllerClient& client, const std::string& name,
                                  const std::function<Status(Object&)>& change,
                                  const std::string& field_manager);

// Follows, one observed Environment after another, the outcome of a build asked for at
// `requested` while the Environment's image was `image_before`: done when status.image changes
// or ImageReady turns True at or after the request (or after a build seen under way), failed
// when ImageReady turns False for a reason other than Building; the current step (ImageReady
// reason Building: its message) meanwhile. Not thread-safe.
class BuildWatch {
 public:
  BuildWatch(std::string image_before, std::chrono::system_clock::time_point requested)
      : image_before_(std::move(image_before)), requested_(requested) {}

  enum class State { kWaiting, kBuilding, kDone, kFailed };
  // Takes the Environment as last observed; returns the state it shows.
  State observe(const Object& env);
  // kBuilding: the current step; kFailed: why; kWaiting: what the Environment shows.
  const std::string& detail() const { return detail_; }

 private:
  std::string image_before_;
  std::chrono::system_clock::time_point requested_;
  bool saw_building_ = false;
  std::string detail_;
};

// The runtime image of `env` (status.image). FailedPrecondition when there is none yet, naming
// the Environment, its phase and its ImageReady condition.
Result<std::string> runtime_image(const Object& env);

// Returns the exit code: 0 when the request is recorded (and, with --wait, the build done); 1
// with a message otherwise.
int run_env_build(const Context& context, const std::string& ns, const EnvBuildFlags& flags);

// Prints the runtime image of the Environment `name` (empty: the -n flag's, else "default").
int run_env_image(const Context& context, const std::string& ns, const std::string& name);

}  // namespace cenv::cli
