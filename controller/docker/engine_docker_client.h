#pragma once
// EngineDockerClient: DockerClient over the Docker Engine API (HTTP/1.1 + JSON, Boost.Beast
// and Boost.JSON) on the daemon's unix socket, or TCP with optional TLS (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). The API version is negotiated once at connect:
// min(the daemon's, kMaxApiVersion). Unary calls reuse a small pool of keep-alive
// connections; streaming calls (logs, attach, exec, wait, events, build, pull) open their own.
// Thread-safe: any number of threads may call any method at once.

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv::docker {

class EngineTransport;
struct EngineRequest;
enum class HttpMethod;

struct EngineOptions {
  // DOCKER_HOST syntax: "unix:///path" or "tcp://host:port".
  std::string host = "unix:///var/run/docker.sock";
  // TLS on tcp:// hosts (DOCKER_TLS or DOCKER_TLS_VERIFY set). Default off.
  bool tls = false;
  // Verify the daemon's certificate against cert_path/ca.pem and its host name
  // (DOCKER_TLS_VERIFY set). Default off.
  bool tls_verify = false;
  // Directory of ca.pem, cert.pem (client certificate, optional) and key.pem
  // (DOCKER_CERT_PATH; default ~/.docker).
  std::string cert_path;
  // Fixed API version such as "1.41" (DOCKER_API_VERSION); empty (default): negotiate.
  std::string api_version;
  // Bound on connecting (and the TLS handshake). Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // Bound on each unary call, and on the start of each stream (up to its response header).
  // Default 30 s. stop_container adds its stop timeout to this.
  std::chrono::milliseconds request_timeout{30000};
  // Idle keep-alive connections kept for unary calls. Default 8; 0 disables reuse.
  size_t max_idle_connections = 8;

  // Options from DOCKER_HOST, DOCKER_TLS, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
  // DOCKER_API_VERSION (and HOME), read through `getenv` (injectable for tests).
  static EngineOptions from_environment(const std::function<const char*(const char*)>& getenv =
                                            [](const char* name) { return std::getenv(name); });
};

class EngineDockerClient final : public DockerClient {
 public:
  // The newest API version cenv speaks, and the oldest daemon API it accepts (Docker 19.03).
  static constexpr const char* kMaxApiVersion = "1.43";
  static constexpr const char* kMinApiVersion = "1.40";

  // Connects to the daemon, pings it and negotiates the API version. Invalid for a bad
  // DOCKER_HOST or unreadable TLS files; Unavailable when the daemon cannot be reached
  // ("docker is not running at unix:///var/run/docker.sock: connection refused");
  // FailedPrecondition when the daemon's API is older than kMinApiVersion.
  static Result<std::unique_ptr<EngineDockerClient>> connect(const EngineOptions& options);
  ~EngineDockerClient() override;

  // The API version used in every path, e.g. "1.41".
  const std::string& api_version() const { return api_version_; }
  // The daemon's address, e.g. "unix:///var/run/docker.sock".
  std::string endpoint() const;

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

 private:
  EngineDockerClient(EngineOptions options, std::unique_ptr<EngineTransport> transport);

  // "/v1.41" + path.
  std::string path(std::string_view p) const;
  // Sends a pull or push (`op`) of `ref` with X-Registry-Auth and follows its progress stream.
  Status registry_stream(std::string_view op, const std::string& ref, EngineRequest request,
                         const std::optional<RegistryAuth>& auth,
                         const ProgressCallback& on_progress, std::stop_token stop);
  // A unary call (engine_swarm.cc): the body on success, the HTTP status mapped otherwise.
  Result<std::string> unary(HttpMethod method, std::string target, std::string body = {},
                            bool conflict_is_exists = false);
  // Whether the container `id` has a TTY (its output is then not multiplexed).
  Result<bool> container_tty(const std::string& id);

  EngineOptions options_;
  std::unique_ptr<EngineTransport> transport_;
  std::string api_version_;  // set once in connect()
};

}  // namespace cenv::docker
