#pragma once
// FakeDockerClient: an in-memory DockerClient for unit tests of reconcilers. It keeps
// containers (with states, output and exit codes), exec processes, networks (bridge, host
// and none exist), volumes and images, emits Docker's events, and answers as dockerd 20.10
// does where it matters: create with a taken name -> AlreadyExists, create from a missing
// image -> NotFound "No such image: x:latest", kill of a stopped container -> Conflict,
// removing a running container without force -> Conflict, and so on. Nothing runs: what a
// started container or an exec does is scripted (set_start_behavior, set_exec_behavior), and
// tests make containers exit (exit_container) or print (append_output). Faults: fail_next.
// Not modelled: logs' timestamps/since/tail, image layers, restart policies, pull progress.
// Thread-safe; blocking calls (wait, logs follow, attach, events) wake on state changes and
// honour their std::stop_token.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/clock.h"
#include "controller/docker/docker_client.h"

namespace cenv::docker {

class FakeDockerClient final : public DockerClient {
 public:
  // `clock` (not owned; must outlive this) stamps states and events; nullptr: the system clock.
  explicit FakeDockerClient(const Clock* clock = nullptr);
  ~FakeDockerClient() override;

  // ---- test controls ----

  // The next `times` calls of `method` (its name, e.g. "create_container") fail with
  // `status` before doing anything.
  void fail_next(std::string_view method, Status status, int times = 1);
  // Adds an image as if pulled or built. An empty id gets one derived from the first tag.
  void add_image(ImageInfo image);
  // Makes `ref` pullable (pull_image then adds `image`); other pulls are NotFound, or
  // Unavailable after set_registry_reachable(false).
  void add_pullable_image(const std::string& ref, ImageInfo image);
  void set_registry_reachable(bool reachable);
  // Pulls and pushes of images on registry `server` (image_registry()) then need `expected`'s
  // username and password: without credentials they are Unauthenticated "no basic auth
  // credentials", with others "unauthorized: authentication required", as dockerd says it.
  void require_registry_credentials(const std::string& server, RegistryAuth expected);
  // The references pushed so far (push_image), in order; each is pullable afterwards.
  std::vector<std::string> pushed_images() const;

  // What a container does when started: nullopt keeps it running; an Exit makes it print
  // and exit at once. Default: keeps running.
  struct Exit {
    int exit_code = 0;
    std::string stdout_text;
    std::string stderr_text;
  };
  using StartBehavior = std::function<std::optional<Exit>(const ContainerInfo& container)>;
  void set_start_behavior(StartBehavior behavior);

  // What an exec does, given everything written to its stdin. Default: exit 0, no output.
  using ExecBehavior = std::function<Exit(const ContainerInfo& container, const ExecSpec& spec,
                                          const std::string& stdin_data)>;
  void set_exec_behavior(ExecBehavior behavior);

  // What a build does before its image is added: it may print (on_output), wait (honouring
  // `stop`) and fail (a non-Ok Status is the build's result; no image is added). Default: a
  // build prints one step and succeeds at once.
  using BuildBehavior = std::function<Status(
      const BuildOptions& options, const ProgressCallback& on_output, std::stop_token stop)>;
  void set_build_behavior(BuildBehavior behavior);

  // Makes a running container exit (event "die"), as a crash or its command ending would.
  // NotFound for an unknown container, Conflict when it is not running.
  Status exit_container(const std::string& id, int exit_code, bool oom_killed = false);
  // Appends output of a container (followers of logs and attach see it). NotFound if unknown.
  Status append_output(const std::string& id, StreamKind kind, std::string_view bytes);
  // Everything written to a container's stdin through attach. NotFound if unknown.
  Result<std::string> stdin_of(const std::string& id);
  // Publishes an event (also kept for `since` replays).
  void push_event(DockerEvent event);
  // Names of the DockerClient methods called so far, in order.
  std::vector<std::string> calls() const;
  size_t call_count(std::string_view method) const;

  // ---- DockerClient ----

  Status ping() override;
  Result<EngineVersion> version() override;

  Result<std::string> create_container(const ContainerSpec& spec) override;
  Status start_container(const std::string& id) override;
  Status stop_container(const std::string& id,
                        std::optional<int> timeout_seconds = std::nullopt) override;
  Status kill_container(const std::string& id, const std::string& signal = "SIGKILL") override;
  Status remove_container(const std::string& id,
                          const RemoveContainerOptions& options = {}) override;
  Status rename_container(const std::string& id, const std::string& new_name) override;
  Result<ContainerInfo> inspect_container(const std::string& id) override;
  Result<std::vector<ContainerSummary>> list_containers(
      const ListContainersOptions& options = {}) override;
  Result<WaitResult> wait_container(const std::string& id,
                                    WaitCondition condition = WaitCondition::kNotRunning,
                                    std::stop_token stop = {},
                                    std::optional<std::chrono::milliseconds> timeout = {}) override;
  Status container_logs(const std::string& id, const LogsOptions& options,
                        const OutputCallback& on_output, std::stop_token stop = {}) override;
  Status attach_container(const std::string& id, const AttachOptions& options,
                          const OutputCallback& on_output, std::stop_token stop = {}) override;

  Result<std::string> create_exec(const std::string& container_id, const ExecSpec& spec) override;
  Status start_exec(const std::string& exec_id, const ExecStartOptions& options,
                    const OutputCallback& on_output, std::stop_token stop = {}) override;
  Result<ExecInfo> inspect_exec(const std::string& exec_id) override;

  Result<std::string> create_network(const NetworkSpec& spec) override;
  Result<NetworkInfo> inspect_network(const std::string& id_or_name) override;
  Status remove_network(const std::string& id_or_name) override;
  Result<std::vector<NetworkInfo>> list_networks(
      const std::vector<std::string>& label_filters = {}) override;
  Status connect_network(const std::string& network, const std::string& container,
                         const std::vector<std::string>& aliases = {}) override;
  Status disconnect_network(const std::string& network, const std::string& container,
                            bool force = false) override;

  Result<VolumeInfo> create_volume(const VolumeSpec& spec) override;
  Result<VolumeInfo> inspect_volume(const std::string& name) override;
  Status remove_volume(const std::string& name, bool force = false) override;
  Result<std::vector<VolumeInfo>> list_volumes(
      const std::vector<std::string>& label_filters = {}) override;

  Result<ImageInfo> inspect_image(const std::string& ref) override;
  Result<std::vector<ImageInfo>> list_images(const ListImagesOptions& options = {}) override;
  Status pull_image(const std::string& ref, const std::optional<RegistryAuth>& auth = std::nullopt,
                    const ProgressCallback& on_progress = {}, std::stop_token stop = {}) override;
  Status push_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                    const ProgressCallback& on_progress = {}, std::stop_token stop = {}) override;
  Result<std::string> build_image(const BuildOptions& options,
                                  const ProgressCallback& on_output = {},
                                  std::stop_token stop = {}) override;
  Status remove_image(const std::string& ref, const RemoveImageOptions& options = {}) override;
  Status tag_image(const std::string& source, const std::string& repo,
                   const std::string& tag) override;

  Status events(const EventsOptions& options, const EventCallback& on_event,
                std::stop_token stop = {}) override;

  // ---- swarm (fake_docker_swarm.cc) ----
  // Services keep every replica running on node "fake-node" (hostname "node-1") unless
  // set_running_tasks says otherwise. Not a manager until set_swarm_state says so.
  Result<SwarmState> swarm_state() override;
  Result<std::string> create_service(const SwarmServiceSpec& spec) override;
  Result<SwarmServiceInfo> inspect_service(const std::string& id_or_name) override;
  Result<std::vector<SwarmServiceInfo>> list_services(
      const std::vector<std::string>& label_filters) override;
  Status scale_service(const std::string& id, uint64_t replicas) override;
  Status remove_service(const std::string& id) override;
  Result<std::vector<SwarmTask>> list_tasks(const std::string& service_id) override;
  Status service_logs(const std::string& id, const LogsOptions& options,
                      const OutputCallback& on_output, std::stop_token stop = {}) override;
  Result<std::vector<SwarmNode>> list_nodes() override;

  void set_swarm_state(SwarmState state);
  // From now on service `id_or_name` has `running` running tasks (the others failed with
  // `error`), whatever its replicas.
  void set_running_tasks(const std::string& id_or_name, int running, std::string error = {});
  // The spec service `name` was created with (scaled replicas included); nullopt if none.
  std::optional<SwarmServiceSpec> service_spec(const std::string& name) const;
  // One-shot services (restart condition none): what the task of a new one does. An Exit
  // makes it print and end at once; nullopt (and the default) keeps it running until
  // finish_service_task. A task that ended shows as one task, complete or failed with the
  // exit code; scaling a running one to 0 ends it with 143 (state shutdown).
  using ServiceBehavior = std::function<std::optional<Exit>(const SwarmServiceSpec& spec)>;
  void set_service_behavior(ServiceBehavior behavior);
  // Makes the running task of one-shot service `id_or_name` print and end. NotFound when
  // there is no such service, Conflict when its task ended already.
  Status finish_service_task(const std::string& id_or_name, const Exit& exit);

 private:
  struct FakeService {
    SwarmServiceInfo info;
    SwarmServiceSpec spec;
    std::optional<int> running;  // set_running_tasks; empty: every replica runs
    std::string task_error;
    std::optional<int> exit_code;                            // a one-shot service's task ended
    std::string task_state;                                  // then: complete, failed or shutdown
    std::vector<std::pair<StreamKind, std::string>> output;  // its tasks', in order
  };
  // Ends the one-shot task of `s` with `exit`. Requires mu_.
  void end_task(FakeService& s, const Exit& exit, const std::string& state);
  ServiceBehavior service_behavior_;                  // guarded by mu_
  FakeService* find_service(const std::string& ref);  // requires mu_
  std::map<std::string, FakeService> services_;       // by id; guarded by mu_
  SwarmState swarm_;                                  // guarded by mu_

  struct Container {
    ContainerInfo info;
    ContainerSpec spec;
    std::vector<std::pair<StreamKind, std::string>> output;
    std::string stdin_data;
    int exits = 0;         // how many times it exited (for WaitCondition::kNextExit)
    bool removed = false;  // erased from containers_; waiters still hold it
  };
  struct Exec {
    ExecInfo info;
    ExecSpec spec;
    bool started = false;
  };

  // Records the call and pops an injected fault. Requires mu_.
  Status enter(std::string_view method);
  // Ok unless `ref`'s registry requires credentials that `auth` does not match. Requires mu_.
  Status check_credentials(std::string_view op, const std::string& ref,
                           const std::optional<RegistryAuth>& auth) const;
  std::string next_id();
  std::string now_text() const;
  int64_t now_nanos() const;
  // Lookups by id, name or unique id prefix (containers, networks); nullptr if none.
  std::shared_ptr<Container> find_container(const std::string& ref);
  NetworkInfo* find_network(const std::string& ref);
  ImageInfo* find_image(const std::string& ref);
  // Emits an event for a container / network / volume / image. Require mu_.
  void emit(const std::string& type, const std::string& action, const std::string& id,
            std::map<std::string, std::string> attributes);
  void emit_container(const Container& c, const std::string& action,
                      std::map<std::string, std::string> extra = {});
  // State changes. Require mu_.
  void run_container(Container& c);
  void stop_running(Container& c, int exit_code, bool oom_killed = false);
  void attach_to_network(Container& c, NetworkInfo& n, const std::vector<std::string>& aliases);

  const Clock* clock_;
  SystemClock system_clock_;
  mutable std::mutex mu_;
  std::condition_variable_any changed_;  // notified on every state change, under mu_
  uint64_t counter_ = 0;                 // guarded by mu_
  std::map<std::string, std::shared_ptr<Container>> containers_;  // by id; guarded by mu_
  std::map<std::string, Exec> execs_;                             // by id; guarded by mu_
  std::map<std::string, NetworkInfo> networks_;                   // by id; guarded by mu_
  std::map<std::string, VolumeInfo> volumes_;                     // by name; guarded by mu_
  std::map<std::string, ImageInfo> images_;                       // by id; guarded by mu_
  std::map<std::string, ImageInfo> pullable_;                     // by ref; guarded by mu_
  std::map<std::string, int> next_ip_;  // network id -> last host number; guarded by mu_
  bool registry_reachable_ = true;      // guarded by mu_
  std::map<std::string, RegistryAuth> credentials_;                // by registry; guarded by mu_
  std::vector<std::string> pushed_;                                // guarded by mu_
  StartBehavior start_behavior_;                                   // guarded by mu_
  ExecBehavior exec_behavior_;                                     // guarded by mu_
  BuildBehavior build_behavior_;                                   // guarded by mu_
  std::map<std::string, std::deque<Status>, std::less<>> faults_;  // guarded by mu_
  std::vector<std::string> calls_;                                 // guarded by mu_
  std::vector<DockerEvent> events_;                                // guarded by mu_
};

}  // namespace cenv::docker
