#pragma once
// FencedDockerClient: a DockerClient that passes every call to another one, but makes a call
// that changes Docker (creates, starts, stops, removes, builds, runs, ...) only while its fence
// says so, and otherwise returns the fence's error without calling. The controller fences the
// reconcilers' client with the leader lease's generation (leader_elector.h, check()): a replica
// that lost the lease, or was frozen past it, makes no Docker change (DESIGN section 5).
// Reads (inspect, list, logs, events, waits) are not fenced. A streaming call is checked when it
// starts. Thread-safe when the client it wraps and the fence are.

#include <functional>
#include <string>
#include <vector>

#include "controller/docker/docker_client.h"

namespace cenv::docker {

class FencedDockerClient final : public DockerClient {
 public:
  using Fence = std::function<Status()>;
  // Calls `client` (not owned; must outlive this) when `fence` returns Ok.
  FencedDockerClient(DockerClient& client, Fence fence)
      : inner_(client), fence_(std::move(fence)) {}

  Status ping() override;
  Result<EngineVersion> version() override;

  Result<std::string> create_container(const ContainerSpec& spec) override;
  Status start_container(const std::string& id) override;
  Status stop_container(const std::string& id, std::optional<int> timeout_seconds) override;
  Status kill_container(const std::string& id, const std::string& signal) override;
  Status remove_container(const std::string& id, const RemoveContainerOptions& options) override;
  Status rename_container(const std::string& id, const std::string& new_name) override;
  Result<ContainerInfo> inspect_container(const std::string& id) override;
  Result<std::vector<ContainerSummary>> list_containers(
      const ListContainersOptions& options) override;
  Result<WaitResult> wait_container(const std::string& id, WaitCondition condition,
                                    std::stop_token stop,
                                    std::optional<std::chrono::milliseconds> timeout) override;
  Status container_logs(const std::string& id, const LogsOptions& options,
                        const OutputCallback& on_output, std::stop_token stop) override;
  Status attach_container(const std::string& id, const AttachOptions& options,
                          const OutputCallback& on_output, std::stop_token stop) override;

  Result<std::string> create_exec(const std::string& container_id, const ExecSpec& spec) override;
  Status start_exec(const std::string& exec_id, const ExecStartOptions& options,
                    const OutputCallback& on_output, std::stop_token stop) override;
  Result<ExecInfo> inspect_exec(const std::string& exec_id) override;

  Result<std::string> create_network(const NetworkSpec& spec) override;
  Result<NetworkInfo> inspect_network(const std::string& id_or_name) override;
  Status remove_network(const std::string& id_or_name) override;
  Result<std::vector<NetworkInfo>> list_networks(
      const std::vector<std::string>& label_filters) override;
  Status connect_network(const std::string& network, const std::string& container,
                         const std::vector<std::string>& aliases) override;
  Status disconnect_network(const std::string& network, const std::string& container,
                            bool force) override;

  Result<VolumeInfo> create_volume(const VolumeSpec& spec) override;
  Result<VolumeInfo> inspect_volume(const std::string& name) override;
  Status remove_volume(const std::string& name, bool force) override;
  Result<std::vector<VolumeInfo>> list_volumes(
      const std::vector<std::string>& label_filters) override;

  Result<ImageInfo> inspect_image(const std::string& ref) override;
  Result<std::vector<ImageInfo>> list_images(const ListImagesOptions& options) override;
  Status pull_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                    const ProgressCallback& on_progress, std::stop_token stop) override;
  Status push_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                    const ProgressCallback& on_progress, std::stop_token stop) override;
  Result<std::string> build_image(const BuildOptions& options, const ProgressCallback& on_output,
                                  std::stop_token stop) override;
  Status remove_image(const std::string& ref, const RemoveImageOptions& options) override;
  Status tag_image(const std::string& source, const std::string& repo,
                   const std::string& tag) override;

  Status events(const EventsOptions& options, const EventCallback& on_event,
                std::stop_token stop) override;

  Result<SwarmState> swarm_state() override;
  Result<std::string> create_service(const SwarmServiceSpec& spec) override;
  Result<SwarmServiceInfo> inspect_service(const std::string& id_or_name) override;
  Result<std::vector<SwarmServiceInfo>> list_services(
      const std::vector<std::string>& label_filters) override;
  Status scale_service(const std::string& id, uint64_t replicas) override;
  Status remove_service(const std::string& id) override;
  Result<std::vector<SwarmTask>> list_tasks(const std::string& service_id) override;
  Result<std::vector<SwarmNode>> list_nodes() override;
  Status service_logs(const std::string& id, const LogsOptions& options,
                      const OutputCallback& on_output, std::stop_token stop) override;

 private:
  DockerClient& inner_;
  const Fence fence_;
};

}  // namespace cenv::docker
