#pragma once
// RuntimeImageBuilder: builds Environments' runtime images in the background (DESIGN section 6),
// so that no reconcile waits on `docker build`. Each build runs on a thread of its own; at most
// max_parallel build at once (the others queue), and at most one per Environment: asking for
// another image of an Environment whose build is queued or running cancels that build (through
// its stop token), and the new one starts once it has ended.
//
// A build's output lines go to the Environment's log (LogHub, keyed by its uid; the build's
// attempt number is the pieces' attempt), so `cenv logs env/NAME -f` streams them; its
// current step ("Step 3/9 : RUN ...") and last lines are kept for the Environment's status.
// The reconciler starts builds and reads their progress; it is told (notify) when a build's
// step changed, at most once per progress_interval, and when a build ends.
//
// Thread-safe; stop() (or the destructor) cancels every build and joins the threads.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/clock.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/runnable.h"
#include "controller/store/log_hub.h"
#include "reconcilers/docker_connection.h"

namespace cenv {

struct RuntimeImageBuilderOptions {
  // Builds running at once over all Environments. Default 2.
  int max_parallel = 2;
  // Least time between two progress notifications of one build. Default 1 s.
  std::chrono::milliseconds progress_interval{1000};
  // Lines of output kept for a failed build's message. Default 10.
  size_t tail_lines = 10;
  // Builds whose output an Environment's log keeps, the running one included; older builds'
  // output is deleted when a build starts. At least 2. Default 3.
  int kept_build_logs = 3;
  // Network of the RUN steps ("host": apt-get reaches the mirror as the host does). Default
  // "host".
  std::string network_mode = "host";
};

// One build to run.
struct ImageBuildRequest {
  std::string uid;   // the Environment's uid: the key of its build and of its log
  std::string name;  // the Environment's name, for notify and messages
  std::string tag;   // "cenv-runtime/dev:0123456789ab"
  int attempt = 1;   // the Environment's build number, 1-based (its log's attempt)
  // The value of the annotation cenv.io/build-requested-at when the build was asked for.
  std::string requested_at;
  std::string context_tar;  // the build context, an uncompressed tar with the Dockerfile
  docker::Labels labels;    // of the image
  // False: `tag` exists already, nothing is built (only pushed). Default true.
  bool build = true;
  // Non-empty: once `tag` is built, it is tagged with this reference ("registry/repo:tag") and
  // pushed there with `push_auth`; the build succeeds only once the push has.
  std::string push_reference{};
  std::optional<docker::RegistryAuth> push_auth{};  // holds a password: never logged
  int64_t generation = 0;  // the Environment's metadata.generation when asked for
};

enum class ImageBuildState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// What a build has done so far.
struct ImageBuildProgress {
  std::string tag;
  int attempt = 0;
  std::string requested_at;
  std::string push_reference;  // as requested
  int64_t generation = 0;      // as requested
  ImageBuildState state = ImageBuildState::kQueued;
  std::string step;               // the last "Step N/M : ..." line; "" before the first
  std::vector<std::string> tail;  // the last lines of output (at most options.tail_lines)
  std::string error;              // kFailed: Docker's message
  bool push_failed = false;       // kFailed: the build succeeded, its push did not
  Code error_code = Code::kOk;    // kFailed: the code of Docker's answer
  std::string image_id;           // kSucceeded: "sha256:..."
  std::chrono::system_clock::time_point start{};
  std::chrono::system_clock::time_point end{};  // once finished
};

class RuntimeImageBuilder {
 public:
  // Builds through `docker`; output into `logs` (nullptr: not stored). Every reference must
  // outlive the builder.
  RuntimeImageBuilder(DockerConnection& docker, LogHub* logs, const Clock& clock,
                      RuntimeImageBuilderOptions options = {});
  ~RuntimeImageBuilder();  // stop()
  RuntimeImageBuilder(const RuntimeImageBuilder&) = delete;
  RuntimeImageBuilder& operator=(const RuntimeImageBuilder&) = delete;

  // Called with the Environment's name when a build's step changed (throttled) and when it
  // ended, on the build's thread. Set before the first start().
  void set_notify(std::function<void(const std::string& env)> notify);

  // Starts building (and pushing) `request` unless the Environment's current build is of the
  // same tag, requested_at and push_reference and has not ended (then nothing changes). A build of
  // anything else for it is cancelled and replaced. False once stopped.
  bool start(ImageBuildRequest request);
  // The Environment's current (or last) build, nullopt when there is none.
  std::optional<ImageBuildProgress> progress(const std::string& uid) const;
  // Cancels the Environment's build, if any. True when none of its builds is left running
  // (it may then be forgotten); false while a cancelled one still ends.
  bool cancel(const std::string& uid);
  // Forgets the Environment's ended build (it was deleted).
  void forget(const std::string& uid);

  // Cancels every build and joins their threads. Idempotent.
  void stop();
  // A Runnable for the Manager that calls stop() when the manager stops, so no build outlives
  // the controller it notifies. The builder must outlive it.
  std::unique_ptr<Runnable> stopper();

 private:
  struct Build;
  // The body of a build's thread.
  void run(const std::shared_ptr<Build>& build, const std::shared_ptr<Build>& previous,
           std::stop_token stop);
  // Waits for `previous` to end and a free slot; false when stopped meanwhile.
  bool acquire(const std::shared_ptr<Build>& previous, const std::stop_token& stop);
  // One line of the build's output.
  void on_line(Build& build, std::string_view line);
  // Tags and pushes the built image to build.request.push_reference; its output as on_line.
  Status push(Build& build, docker::DockerClient& docker, std::stop_token stop);
  // Records the end of `build` and frees its slot.
  void finish(Build& build, ImageBuildState state, std::string error, std::string image_id);
  void notify(const std::string& env);
  // Moves out the threads of retired builds that have ended (to join without mu_). Requires
  // mu_.
  std::vector<std::jthread> reap_locked();

  DockerConnection& docker_;
  LogHub* const logs_;
  const Clock& clock_;
  const RuntimeImageBuilderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable_any changed_;             // a build ended or a slot freed; under mu_
  std::function<void(const std::string&)> notify_;  // guarded by mu_
  // The current build of each Environment, by uid; guarded by mu_.
  std::map<std::string, std::shared_ptr<Build>> builds_;
  // Builds replaced or forgotten whose threads may still run; guarded by mu_.
  std::vector<std::shared_ptr<Build>> retired_;
  int running_ = 0;       // guarded by mu_
  bool stopped_ = false;  // guarded by mu_
};

// "Queued", "Running", "Succeeded", "Failed", "Cancelled".
const char* image_build_state_name(ImageBuildState state);

}  // namespace cenv
