#include "controller/docker/fenced_docker_client.h"

// Every call is passed on; those that change Docker check the fence first.

namespace cenv::docker {

Status FencedDockerClient::ping() { return inner_.ping(); }

Result<EngineVersion> FencedDockerClient::version() { return inner_.version(); }

Result<std::string> FencedDockerClient::create_container(const ContainerSpec& spec) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.create_container(spec);
}

Status FencedDockerClient::start_container(const std::string& id) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.start_container(id);
}

Status FencedDockerClient::stop_container(const std::string& id,
                                          std::optional<int> timeout_seconds) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.stop_container(id, timeout_seconds);
}

Status FencedDockerClient::kill_container(const std::string& id, const std::string& signal) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.kill_container(id, signal);
}

Status FencedDockerClient::remove_container(const std::string& id,
                                            const RemoveContainerOptions& options) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.remove_container(id, options);
}

Status FencedDockerClient::rename_container(const std::string& id, const std::string& new_name) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.rename_container(id, new_name);
}

Result<ContainerInfo> FencedDockerClient::inspect_container(const std::string& id) {
  return inner_.inspect_container(id);
}

Result<std::vector<ContainerSummary>> FencedDockerClient::list_containers(
    const ListContainersOptions& options) {
  return inner_.list_containers(options);
}

Result<WaitResult> FencedDockerClient::wait_container(
    const std::string& id, WaitCondition condition, std::stop_token stop,
    std::optional<std::chrono::milliseconds> timeout) {
  return inner_.wait_container(id, condition, stop, timeout);
}

Status FencedDockerClient::container_logs(const std::string& id, const LogsOptions& options,
                                          const OutputCallback& on_output, std::stop_token stop) {
  return inner_.container_logs(id, options, on_output, stop);
}

Status FencedDockerClient::attach_container(const std::string& id, const AttachOptions& options,
                                            const OutputCallback& on_output, std::stop_token stop) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.attach_container(id, options, on_output, stop);
}

Result<std::string> FencedDockerClient::create_exec(const std::string& container_id,
                                                    const ExecSpec& spec) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.create_exec(container_id, spec);
}

Status FencedDockerClient::start_exec(const std::string& exec_id, const ExecStartOptions& options,
                                      const OutputCallback& on_output, std::stop_token stop) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.start_exec(exec_id, options, on_output, stop);
}

Result<ExecInfo> FencedDockerClient::inspect_exec(const std::string& exec_id) {
  return inner_.inspect_exec(exec_id);
}

Result<std::string> FencedDockerClient::create_network(const NetworkSpec& spec) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.create_network(spec);
}

Result<NetworkInfo> FencedDockerClient::inspect_network(const std::string& id_or_name) {
  return inner_.inspect_network(id_or_name);
}

Status FencedDockerClient::remove_network(const std::string& id_or_name) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.remove_network(id_or_name);
}

Result<std::vector<NetworkInfo>> FencedDockerClient::list_networks(
    const std::vector<std::string>& label_filters) {
  return inner_.list_networks(label_filters);
}

Status FencedDockerClient::connect_network(const std::string& network, const std::string& container,
                                           const std::vector<std::string>& aliases) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.connect_network(network, container, aliases);
}

Status FencedDockerClient::disconnect_network(const std::string& network,
                                              const std::string& container, bool force) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.disconnect_network(network, container, force);
}

Result<VolumeInfo> FencedDockerClient::create_volume(const VolumeSpec& spec) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.create_volume(spec);
}

Result<VolumeInfo> FencedDockerClient::inspect_volume(const std::string& name) {
  return inner_.inspect_volume(name);
}

Status FencedDockerClient::remove_volume(const std::string& name, bool force) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.remove_volume(name, force);
}

Result<std::vector<VolumeInfo>> FencedDockerClient::list_volumes(
    const std::vector<std::string>& label_filters) {
  return inner_.list_volumes(label_filters);
}

Result<ImageInfo> FencedDockerClient::inspect_image(const std::string& ref) {
  return inner_.inspect_image(ref);
}

Result<std::vector<ImageInfo>> FencedDockerClient::list_images(const ListImagesOptions& options) {
  return inner_.list_images(options);
}

Status FencedDockerClient::pull_image(const std::string& ref,
                                      const std::optional<RegistryAuth>& auth,
                                      const ProgressCallback& on_progress, std::stop_token stop) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.pull_image(ref, auth, on_progress, stop);
}

Status FencedDockerClient::push_image(const std::string& ref,
                                      const std::optional<RegistryAuth>& auth,
                                      const ProgressCallback& on_progress, std::stop_token stop) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.push_image(ref, auth, on_progress, stop);
}

Result<std::string> FencedDockerClient::build_image(const BuildOptions& options,
                                                    const ProgressCallback& on_output,
                                                    std::stop_token stop) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.build_image(options, on_output, stop);
}

Status FencedDockerClient::remove_image(const std::string& ref, const RemoveImageOptions& options) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.remove_image(ref, options);
}

Status FencedDockerClient::tag_image(const std::string& source, const std::string& repo,
                                     const std::string& tag) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.tag_image(source, repo, tag);
}

Status FencedDockerClient::events(const EventsOptions& options, const EventCallback& on_event,
                                  std::stop_token stop) {
  return inner_.events(options, on_event, stop);
}

Result<SwarmState> FencedDockerClient::swarm_state() { return inner_.swarm_state(); }

Result<std::string> FencedDockerClient::create_service(const SwarmServiceSpec& spec) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.create_service(spec);
}

Result<SwarmServiceInfo> FencedDockerClient::inspect_service(const std::string& id_or_name) {
  return inner_.inspect_service(id_or_name);
}

Result<std::vector<SwarmServiceInfo>> FencedDockerClient::list_services(
    const std::vector<std::string>& label_filters) {
  return inner_.list_services(label_filters);
}

Status FencedDockerClient::scale_service(const std::string& id, uint64_t replicas) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.scale_service(id, replicas);
}

Status FencedDockerClient::remove_service(const std::string& id) {
  if (Status s = fence_(); !s.ok()) return s;
  return inner_.remove_service(id);
}

Result<std::vector<SwarmTask>> FencedDockerClient::list_tasks(const std::string& service_id) {
  return inner_.list_tasks(service_id);
}

Result<std::vector<SwarmNode>> FencedDockerClient::list_nodes() { return inner_.list_nodes(); }

Status FencedDockerClient::service_logs(const std::string& id, const LogsOptions& options,
                                        const OutputCallback& on_output, std::stop_token stop) {
  return inner_.service_logs(id, options, on_output, stop);
}

}  // namespace cenv::docker
