#pragma once
// DockerClient: the seam for every effect cenv has on a Docker Engine (DESIGN section 6).
// Production: EngineDockerClient (HTTP/JSON over the unix socket or TCP+TLS). Tests:
// FakeDockerClient (in memory, with fault injection). Reconcilers see only this interface.
//
// Conventions for every method below:
//  - Objects are named by id, unique id prefix or name, as Docker accepts them.
//  - Failures carry Docker's own message. Codes: NotFound (no such container/image/...),
//    AlreadyExists (create with a name in use), Conflict (the object's state forbids it:
//    kill a stopped container, remove a running one without force, remove an image in use),
//    Invalid (Docker refused the request as bad), Unavailable (the daemon cannot be reached,
//    or a call timed out), Internal (Docker failed).
//  - Unary calls have a deadline (EngineOptions::request_timeout). Streaming calls (logs with
//    follow, attach, exec output, events, build, pull, wait) run until the stream ends, the
//    callback returns false or the std::stop_token is triggered; each of these ends is Ok.
//  - All methods are thread-safe; callbacks run on the calling thread.
//  - Every field of the request structs has a default member initializer, so designated
//    initializers (`{.all = true}`) compile warning-free under -Wextra.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"
#include "api/stdin_pipe.h"
#include "controller/docker/swarm_types.h"

namespace cenv::docker {

using Labels = std::map<std::string, std::string>;
using TimePoint = std::chrono::system_clock::time_point;

// Which output stream a chunk of container output came from. TTY output is all kStdout.
enum class StreamKind { kStdout, kStderr };
const char* stream_kind_name(StreamKind kind);  // "stdout", "stderr"

// Receives container output as it arrives; chunks are not aligned to lines. Return false to
// stop the stream (the call then returns Ok).
using OutputCallback = std::function<bool(StreamKind kind, std::string_view bytes)>;
// Receives one line of progress (build step output, pull status) without its newline.
// Return false to stop following: pull then returns Ok (the daemon may finish the pull),
// build returns Unavailable (no image id is known).
using ProgressCallback = std::function<bool(std::string_view line)>;

// ---- engine ----

struct EngineVersion {
  std::string api_version;      // the negotiated version used in every path, e.g. "1.41"
  std::string server_version;   // dockerd's version, e.g. "20.10.24+dfsg1"
  std::string min_api_version;  // the oldest API the daemon accepts
  std::string os;               // "linux"
  std::string arch;             // "amd64"
  std::string kernel_version;
};

// ---- containers ----

struct PortSpec {
  uint16_t port = 0;
  std::string protocol = "tcp";  // tcp, udp or sctp
};

// A published port: container_port/protocol reachable at host_ip:host_port. host_port 0
// asks Docker for an ephemeral port (inspect reports the one chosen).
struct PortBinding {
  uint16_t container_port = 0;
  std::string protocol = "tcp";
  std::string host_ip{};  // empty: every interface
  uint16_t host_port = 0;
  bool operator==(const PortBinding&) const = default;
};

struct Mount {
  enum class Type { kVolume, kBind };
  Type type = Type::kVolume;
  std::string source{};  // volume name (created on first use) or absolute host path
  std::string target{};  // absolute path in the container
  bool read_only = false;
};

struct ContainerSpec {
  std::string name{};                     // empty: Docker picks a name
  std::string image{};                    // required
  std::vector<std::string> cmd{};         // empty: the image's CMD
  std::vector<std::string> entrypoint{};  // empty: the image's ENTRYPOINT
  std::vector<std::string> env{};         // "KEY=VALUE"
  Labels labels{};
  std::string working_dir{};  // empty: the image's
  std::string user{};         // empty: the image's
  std::string hostname{};     // empty: Docker's default (the short id)
  bool tty = false;
  bool open_stdin = false;                // keep stdin open for attach
  bool stdin_once = false;                // close stdin after the first attach disconnects
  std::vector<PortSpec> exposed_ports{};  // ports in port_bindings are exposed implicitly
  std::vector<PortBinding> port_bindings{};
  std::vector<Mount> mounts{};
  std::string network{};                       // empty: Docker's default bridge
  std::vector<std::string> network_aliases{};  // DNS names on `network`
  std::vector<std::string> extra_hosts{};      // "host:ip" entries for /etc/hosts
  std::optional<int> stop_timeout_seconds{};   // empty: Docker's default (10 s)
  std::string stop_signal{};                   // empty: the image's (SIGTERM)
  bool init = false;                           // run an init process (tini) as PID 1
  bool auto_remove = false;                    // remove the container when it exits
  // Image healthchecks are always disabled: cenv runs its own (Service.spec.healthCheck).
};

struct ContainerState {
  std::string status;  // created, running, paused, restarting, removing, exited, dead
  bool running = false;
  bool paused = false;
  bool restarting = false;
  bool oom_killed = false;
  bool dead = false;
  int pid = 0;
  int exit_code = 0;
  std::string error;
  std::string started_at;   // RFC 3339 with nanoseconds; "0001-01-01T00:00:00Z" if never
  std::string finished_at;  // likewise
};

struct EndpointInfo {
  std::string network_id;
  std::string ip_address;  // IPv4 without prefix length; empty when not running
  std::string gateway;
  std::vector<std::string> aliases;
};

struct ContainerInfo {
  std::string id;
  std::string name;      // without Docker's leading "/"
  std::string image;     // the image as given at create (Config.Image)
  std::string image_id;  // "sha256:..."
  std::string created;   // RFC 3339
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::vector<std::string> env;
  std::string working_dir;
  bool tty = false;
  bool open_stdin = false;
  Labels labels;
  ContainerState state;
  int restart_count = 0;
  std::map<std::string, EndpointInfo> networks;  // by network name
  std::vector<PortBinding> ports;                // published ports as bound (host_port set)
};

struct ContainerSummary {
  std::string id;
  std::string name;  // first name, without "/"
  std::string image;
  std::string image_id;
  std::string state;    // created, running, exited, ...
  std::string status;   // human text: "Up 3 seconds", "Exited (0) 2 minutes ago"
  std::string created;  // RFC 3339
  Labels labels;
};

struct ListContainersOptions {
  bool all = false;  // false: running containers only, as `docker ps`
  // Each entry "key" or "key=value"; a container must match every entry.
  std::vector<std::string> label_filters{};
  std::string name{};  // empty: any; else containers whose name contains it (Docker's filter)
};

struct RemoveContainerOptions {
  bool force = false;    // kill a running container first
  bool volumes = false;  // also remove its anonymous volumes (never named ones)
};

enum class WaitCondition {
  kNotRunning,  // returns at once if the container is not running
  kNextExit,    // waits for the next exit even if not running now
  kRemoved,     // waits until the container is removed
};

struct WaitResult {
  int exit_code = 0;
  std::string error;  // Docker's error waiting, if any
};

struct LogsOptions {
  bool follow = false;  // keep streaming until the container stops
  bool show_stdout = true;
  bool show_stderr = true;
  bool timestamps = false;  // prefix each line with an RFC 3339 timestamp and a space
  std::optional<TimePoint> since{};
  std::optional<int> tail{};  // last N lines; empty: all
};

struct AttachOptions {
  bool stream = true;  // stream output from now on
  bool logs = false;   // first replay the output so far
  bool show_stdout = true;
  bool show_stderr = true;
  // When set, written to the container's stdin (which must be open: ContainerSpec.open_stdin).
  std::shared_ptr<StdinPipe> stdin_pipe{};
  // Called once the daemon has attached (before any output); the caller may then start the
  // container without losing output.
  std::function<void()> on_attached{};
};

// ---- exec ----

struct ExecSpec {
  std::vector<std::string> cmd{};  // required
  std::vector<std::string> env{};  // "KEY=VALUE", added to the container's
  std::string working_dir{};
  std::string user{};
  bool tty = false;
  bool attach_stdin = false;
  bool attach_stdout = true;
  bool attach_stderr = true;
  bool privileged = false;
};

struct ExecStartOptions {
  std::shared_ptr<StdinPipe> stdin_pipe{};  // requires ExecSpec.attach_stdin
  bool detach = false;                      // start and return at once, without output
};

struct ExecInfo {
  std::string id;
  std::string container_id;
  bool running = false;
  std::optional<int> exit_code;  // set once the process has exited
  int pid = 0;
  bool tty = false;
};

// ---- networks ----

struct NetworkSpec {
  std::string name{};
  std::string driver = "bridge";
  Labels labels{};
  bool internal = false;
  bool attachable = true;
};

struct NetworkInfo {
  std::string id;
  std::string name;
  std::string driver;
  std::string scope;
  bool internal = false;
  std::string created;  // RFC 3339
  Labels labels;
  std::map<std::string, std::string> containers;  // container id -> IPv4 (no prefix length)
};

// ---- volumes ----

struct VolumeSpec {
  std::string name{};  // empty: Docker picks one
  std::string driver = "local";
  Labels labels{};
  std::map<std::string, std::string> driver_opts{};
};

struct VolumeInfo {
  std::string name;
  std::string driver;
  std::string mountpoint;
  std::string created;  // RFC 3339
  std::string scope;
  Labels labels;
};

// ---- images ----

struct ImageInfo {
  std::string id;                 // "sha256:..."
  std::vector<std::string> tags;  // "repo:tag"
  Labels labels;
  std::string created;  // RFC 3339
  int64_t size = 0;     // bytes
};

struct ListImagesOptions {
  std::vector<std::string> label_filters{};  // as ListContainersOptions
  std::string reference{};                   // e.g. "cenv/*"; empty: every image
};

struct BuildOptions {
  // The build context as an uncompressed tar, either in memory or in a file (exactly one).
  std::string context_tar{};
  std::string context_tar_path{};
  std::string dockerfile = "Dockerfile";  // path inside the context
  std::vector<std::string> tags{};        // "repo:tag"
  Labels labels{};
  std::map<std::string, std::string> build_args{};
  std::string network_mode{};  // for RUN steps: empty (Docker's default), "host", "none"
  bool no_cache = false;
  bool pull = false;                // always try to pull a newer base image
  bool remove_intermediate = true;  // remove intermediate containers, even on failure
};

// Credentials for one image registry, sent with a pull or push (Engine API X-Registry-Auth).
// Holds a password: never log it or put it in an object, an event or a message.
struct RegistryAuth {
  std::string username{};
  std::string password{};
  std::string server_address{};  // the registry, "host[:port]" as in image references
};

struct RemoveImageOptions {
  bool force = false;
  bool no_prune = false;  // keep untagged parents
};

// ---- events ----

// One message of Docker's event stream.
struct DockerEvent {
  std::string type{};    // container, network, volume, image, ...
  std::string action{};  // create, start, die, stop, kill, destroy, "exec_start: sh", ...
  std::string id{};      // the actor's id (container id, network id, volume name, ...)
  std::map<std::string, std::string> attributes{};  // the actor's labels, name, image, exitCode
  int64_t time_nano = 0;                            // Unix time in nanoseconds
};

struct EventsOptions {
  std::vector<std::string> label_filters{};  // as ListContainersOptions
  std::vector<std::string> types{};          // e.g. {"container"}; empty: all types
  std::vector<std::string> actions{};        // e.g. {"start", "die"}; empty: all actions
  std::optional<TimePoint> since{};          // replay from here (daemon time)
  std::optional<TimePoint> until{};          // end the stream here; empty: never
  // Called once the daemon accepted the subscription, before any event is delivered.
  std::function<void()> on_subscribed{};
};

using EventCallback = std::function<bool(const DockerEvent& event)>;

class DockerClient {
 public:
  virtual ~DockerClient() = default;

  // ---- engine ----
  // Ok when the daemon answers /_ping.
  virtual Status ping() = 0;
  // The daemon's version and the negotiated API version.
  virtual Result<EngineVersion> version() = 0;

  // ---- containers ----
  // Creates (does not start) a container; returns its id. NotFound if the image or network is
  // missing (nothing is pulled); AlreadyExists if the name is taken.
  virtual Result<std::string> create_container(const ContainerSpec& spec) = 0;
  // Ok also when already running.
  virtual Status start_container(const std::string& id) = 0;
  // SIGTERM (or the stop signal), then SIGKILL after `timeout_seconds` (empty: the container's
  // stop timeout). Ok also when not running. Blocks until stopped.
  virtual Status stop_container(const std::string& id,
                                std::optional<int> timeout_seconds = std::nullopt) = 0;
  // Sends a signal ("SIGKILL", "SIGHUP", "9"). Conflict when the container is not running.
  virtual Status kill_container(const std::string& id, const std::string& signal = "SIGKILL") = 0;
  // Conflict when running and not forced.
  virtual Status remove_container(const std::string& id,
                                  const RemoveContainerOptions& options = {}) = 0;
  virtual Status rename_container(const std::string& id, const std::string& new_name) = 0;
  virtual Result<ContainerInfo> inspect_container(const std::string& id) = 0;
  virtual Result<std::vector<ContainerSummary>> list_containers(
      const ListContainersOptions& options = {}) = 0;
  // Blocks until `condition` holds and returns the exit code. Unavailable after `timeout`
  // (empty: no limit) or when cancelled through `stop` before the condition held.
  virtual Result<WaitResult> wait_container(
      const std::string& id, WaitCondition condition = WaitCondition::kNotRunning,
      std::stop_token stop = {}, std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  // Streams the container's output (demultiplexed unless it has a TTY) into `on_output`.
  virtual Status container_logs(const std::string& id, const LogsOptions& options,
                                const OutputCallback& on_output, std::stop_token stop = {}) = 0;
  // Attaches to the container's stdio: output into `on_output`, options.stdin_pipe into its
  // stdin. Runs until the container's output ends (it exits), `on_output` returns false or
  // `stop` is triggered.
  virtual Status attach_container(const std::string& id, const AttachOptions& options,
                                  const OutputCallback& on_output, std::stop_token stop = {}) = 0;

  // ---- exec ----
  // Creates a process to run in a running container; returns the exec id. Conflict when the
  // container is not running.
  virtual Result<std::string> create_exec(const std::string& container_id,
                                          const ExecSpec& spec) = 0;
  // Starts the exec and streams its output until the process exits (then inspect_exec has the
  // exit code), unless options.detach.
  virtual Status start_exec(const std::string& exec_id, const ExecStartOptions& options,
                            const OutputCallback& on_output, std::stop_token stop = {}) = 0;
  virtual Result<ExecInfo> inspect_exec(const std::string& exec_id) = 0;

  // ---- networks ----
  // Returns the id. AlreadyExists when the name is taken.
  virtual Result<std::string> create_network(const NetworkSpec& spec) = 0;
  virtual Result<NetworkInfo> inspect_network(const std::string& id_or_name) = 0;
  // Fails (Forbidden or Conflict, as Docker says) while containers are connected.
  virtual Status remove_network(const std::string& id_or_name) = 0;
  virtual Result<std::vector<NetworkInfo>> list_networks(
      const std::vector<std::string>& label_filters = {}) = 0;
  virtual Status connect_network(const std::string& network, const std::string& container,
                                 const std::vector<std::string>& aliases = {}) = 0;
  virtual Status disconnect_network(const std::string& network, const std::string& container,
                                    bool force = false) = 0;

  // ---- volumes ----
  // Returns the volume; creating an existing name returns the existing volume, as Docker does.
  virtual Result<VolumeInfo> create_volume(const VolumeSpec& spec) = 0;
  virtual Result<VolumeInfo> inspect_volume(const std::string& name) = 0;
  // Conflict while a container uses it.
  virtual Status remove_volume(const std::string& name, bool force = false) = 0;
  virtual Result<std::vector<VolumeInfo>> list_volumes(
      const std::vector<std::string>& label_filters = {}) = 0;

  // ---- images ----
  virtual Result<ImageInfo> inspect_image(const std::string& ref) = 0;
  virtual Result<std::vector<ImageInfo>> list_images(const ListImagesOptions& options = {}) = 0;
  // Pulls "repo[:tag|@digest]" (tag defaults to latest), with `auth` when set. NotFound when
  // the registry has no such image, Unauthenticated when it refused the pull for want of (right)
  // credentials, Unavailable when the registry cannot be reached.
  virtual Status pull_image(const std::string& ref,
                            const std::optional<RegistryAuth>& auth = std::nullopt,
                            const ProgressCallback& on_progress = {},
                            std::stop_token stop = {}) = 0;
  // Pushes the local image "registry/repo:tag" to its registry, with `auth` when set. NotFound
  // when no local image has that name, Unauthenticated when the registry refused the credentials
  // (or their absence), Unavailable when the registry cannot be reached.
  virtual Status push_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                            const ProgressCallback& on_progress = {},
                            std::stop_token stop = {}) = 0;
  // Builds an image, streaming each line of step output; returns the image id. Invalid (with
  // Docker's message, e.g. the failing RUN step) when the build fails.
  virtual Result<std::string> build_image(const BuildOptions& options,
                                          const ProgressCallback& on_output = {},
                                          std::stop_token stop = {}) = 0;
  // Conflict while a container uses it (unless forced).
  virtual Status remove_image(const std::string& ref, const RemoveImageOptions& options = {}) = 0;
  // Adds the name repo:tag to `source`.
  virtual Status tag_image(const std::string& source, const std::string& repo,
                           const std::string& tag) = 0;

  // ---- swarm ----
  // This engine's part in a swarm (GET /info).
  virtual Result<SwarmState> swarm_state() = 0;
  // Creates a service; returns its id. AlreadyExists when the name is taken; FailedPrecondition
  // (the engine's message) when this engine is not a swarm manager.
  virtual Result<std::string> create_service(const SwarmServiceSpec& spec) = 0;
  // NotFound when there is no such service.
  virtual Result<SwarmServiceInfo> inspect_service(const std::string& id_or_name) = 0;
  // Services carrying every "key=value" label in `label_filters`.
  virtual Result<std::vector<SwarmServiceInfo>> list_services(
      const std::vector<std::string>& label_filters) = 0;
  // Sets the desired replicas of a replicated service, leaving the rest of its spec.
  virtual Status scale_service(const std::string& id, uint64_t replicas) = 0;
  // Removes the service and (asynchronously) its tasks. NotFound when gone.
  virtual Status remove_service(const std::string& id) = 0;
  // The tasks of service `service_id`, any state.
  virtual Result<std::vector<SwarmTask>> list_tasks(const std::string& service_id) = 0;
  // The output of the service's tasks (GET /services/{id}/logs), demultiplexed into
  // `on_output`. With options.follow it streams until `stop` is triggered or `on_output`
  // returns false (the engine does not end it when the tasks end); without, it ends after
  // what was written so far. options.since and tail are not used. NotFound when there is no
  // such service.
  virtual Status service_logs(const std::string& id, const LogsOptions& options,
                              const OutputCallback& on_output, std::stop_token stop = {}) = 0;
  virtual Result<std::vector<SwarmNode>> list_nodes() = 0;

  // ---- events ----
  // Streams events matching `options` until cancelled, `on_event` returns false or
  // options.until passes (all Ok). Unavailable when the daemon ends the stream on its own
  // (it restarted): the caller should relist and subscribe again.
  virtual Status events(const EventsOptions& options, const EventCallback& on_event,
                        std::stop_token stop = {}) = 0;
};

// Splits "repo[:tag]" or "repo@digest" into repository and tag/digest (tag defaults to
// "latest"; a registry port "host:5000/x" is not a tag). Used by pull and tag.
std::pair<std::string, std::string> split_image_ref(std::string_view ref);

// The registry an image reference names, as Docker reads it: its first path component when
// that holds a '.' or a ':' or is "localhost" ("127.0.0.1:5000/a/b:1" -> "127.0.0.1:5000"),
// else "docker.io" (Docker Hub: "debian:12", "cenv/base:bookworm").
std::string image_registry(std::string_view ref);

}  // namespace cenv::docker
