#include "controller/docker/metered_docker_client.h"

#include <type_traits>
#include <utility>

namespace cenv::docker {

namespace {

const Status& status_of(const Status& s) { return s; }
template <typename T>
const Status& status_of(const Result<T>& r) {
  return r.status();
}

}  // namespace

MeteredDockerClient::MeteredDockerClient(std::unique_ptr<DockerClient> client,
                                         metrics::Registry& registry)
    : inner_(std::move(client)),
      requests_(registry.counter("cenv_docker_requests_total",
                                 "Docker Engine API calls, by operation and result code.",
                                 {"operation", "code"})),
      seconds_(registry.histogram("cenv_docker_request_duration_seconds",
                                  "How long Docker Engine API calls took (a streaming call: its "
                                  "whole stream), by operation.",
                                  {"operation"})) {}

template <typename Call>
auto MeteredDockerClient::counted(std::string_view operation, Call&& call) {
  auto started = std::chrono::steady_clock::now();
  auto result = std::forward<Call>(call)();
  count(operation, status_of(result), std::chrono::steady_clock::now() - started);
  return result;
}

void MeteredDockerClient::count(std::string_view operation, const Status& status,
                                std::chrono::nanoseconds took) {
  requests_.with({operation, code_name(status.code())}).inc();
  seconds_.with({operation}).observe(took);
}

Status MeteredDockerClient::ping() {
  return counted("ping", [&] { return inner_->ping(); });
}

Result<EngineVersion> MeteredDockerClient::version() {
  return counted("version", [&] { return inner_->version(); });
}

Result<std::string> MeteredDockerClient::create_container(const ContainerSpec& spec) {
  return counted("create_container", [&] { return inner_->create_container(spec); });
}

Status MeteredDockerClient::start_container(const std::string& id) {
  return counted("start_container", [&] { return inner_->start_container(id); });
}

Status MeteredDockerClient::stop_container(const std::string& id,
                                           std::optional<int> timeout_seconds) {
  return counted("stop_container", [&] { return inner_->stop_container(id, timeout_seconds); });
}

Status MeteredDockerClient::kill_container(const std::string& id, const std::string& signal) {
  return counted("kill_container", [&] { return inner_->kill_container(id, signal); });
}

Status MeteredDockerClient::remove_container(const std::string& id,
                                             const RemoveContainerOptions& options) {
  return counted("remove_container", [&] { return inner_->remove_container(id, options); });
}

Status MeteredDockerClient::rename_container(const std::string& id, const std::string& new_name) {
  return counted("rename_container", [&] { return inner_->rename_container(id, new_name); });
}

Result<ContainerInfo> MeteredDockerClient::inspect_container(const std::string& id) {
  return counted("inspect_container", [&] { return inner_->inspect_container(id); });
}

Result<std::vector<ContainerSummary>> MeteredDockerClient::list_containers(
    const ListContainersOptions& options) {
  return counted("list_containers", [&] { return inner_->list_containers(options); });
}

Result<WaitResult> MeteredDockerClient::wait_container(
    const std::string& id, WaitCondition condition, std::stop_token stop,
    std::optional<std::chrono::milliseconds> timeout) {
  return counted("wait_container",
                 [&] { return inner_->wait_container(id, condition, stop, timeout); });
}

Status MeteredDockerClient::container_logs(const std::string& id, const LogsOptions& options,
                                           const OutputCallback& on_output, std::stop_token stop) {
  return counted("container_logs",
                 [&] { return inner_->container_logs(id, options, on_output, stop); });
}

Status MeteredDockerClient::attach_container(const std::string& id, const AttachOptions& options,
                                             const OutputCallback& on_output,
                                             std::stop_token stop) {
  return counted("attach_container",
                 [&] { return inner_->attach_container(id, options, on_output, stop); });
}

Result<std::string> MeteredDockerClient::create_exec(const std::string& container_id,
                                                     const ExecSpec& spec) {
  return counted("create_exec", [&] { return inner_->create_exec(container_id, spec); });
}

Status MeteredDockerClient::start_exec(const std::string& exec_id, const ExecStartOptions& options,
                                       const OutputCallback& on_output, std::stop_token stop) {
  return counted("start_exec",
                 [&] { return inner_->start_exec(exec_id, options, on_output, stop); });
}

Result<ExecInfo> MeteredDockerClient::inspect_exec(const std::string& exec_id) {
  return counted("inspect_exec", [&] { return inner_->inspect_exec(exec_id); });
}

Result<std::string> MeteredDockerClient::create_network(const NetworkSpec& spec) {
  return counted("create_network", [&] { return inner_->create_network(spec); });
}

Result<NetworkInfo> MeteredDockerClient::inspect_network(const std::string& id_or_name) {
  return counted("inspect_network", [&] { return inner_->inspect_network(id_or_name); });
}

Status MeteredDockerClient::remove_network(const std::string& id_or_name) {
  return counted("remove_network", [&] { return inner_->remove_network(id_or_name); });
}

Result<std::vector<NetworkInfo>> MeteredDockerClient::list_networks(
    const std::vector<std::string>& label_filters) {
  return counted("list_networks", [&] { return inner_->list_networks(label_filters); });
}

Status MeteredDockerClient::connect_network(const std::string& network,
                                            const std::string& container,
                                            const std::vector<std::string>& aliases) {
  return counted("connect_network",
                 [&] { return inner_->connect_network(network, container, aliases); });
}

Status MeteredDockerClient::disconnect_network(const std::string& network,
                                               const std::string& container, bool force) {
  return counted("disconnect_network",
                 [&] { return inner_->disconnect_network(network, container, force); });
}

Result<VolumeInfo> MeteredDockerClient::create_volume(const VolumeSpec& spec) {
  return counted("create_volume", [&] { return inner_->create_volume(spec); });
}

Result<VolumeInfo> MeteredDockerClient::inspect_volume(const std::string& name) {
  return counted("inspect_volume", [&] { return inner_->inspect_volume(name); });
}

Status MeteredDockerClient::remove_volume(const std::string& name, bool force) {
  return counted("remove_volume", [&] { return inner_->remove_volume(name, force); });
}

Result<std::vector<VolumeInfo>> MeteredDockerClient::list_volumes(
    const std::vector<std::string>& label_filters) {
  return counted("list_volumes", [&] { return inner_->list_volumes(label_filters); });
}

Result<ImageInfo> MeteredDockerClient::inspect_image(const std::string& ref) {
  return counted("inspect_image", [&] { return inner_->inspect_image(ref); });
}

Result<std::vector<ImageInfo>> MeteredDockerClient::list_images(const ListImagesOptions& options) {
  return counted("list_images", [&] { return inner_->list_images(options); });
}

Status MeteredDockerClient::pull_image(const std::string& ref,
                                       const std::optional<RegistryAuth>& auth,
                                       const ProgressCallback& on_progress, std::stop_token stop) {
  return counted("pull_image", [&] { return inner_->pull_image(ref, auth, on_progress, stop); });
}

Status MeteredDockerClient::push_image(const std::string& ref,
                                       const std::optional<RegistryAuth>& auth,
                                       const ProgressCallback& on_progress, std::stop_token stop) {
  return counted("push_image", [&] { return inner_->push_image(ref, auth, on_progress, stop); });
}

Result<std::string> MeteredDockerClient::build_image(const BuildOptions& options,
                                                     const ProgressCallback& on_output,
                                                     std::stop_token stop) {
  return counted("build_image", [&] { return inner_->build_image(options, on_output, stop); });
}

Status MeteredDockerClient::remove_image(const std::string& ref,
                                         const RemoveImageOptions& options) {
  return counted("remove_image", [&] { return inner_->remove_image(ref, options); });
}

Status MeteredDockerClient::tag_image(const std::string& source, const std::string& repo,
                                      const std::string& tag) {
  return counted("tag_image", [&] { return inner_->tag_image(source, repo, tag); });
}

Status MeteredDockerClient::events(const EventsOptions& options, const EventCallback& on_event,
                                   std::stop_token stop) {
  return counted("events", [&] { return inner_->events(options, on_event, stop); });
}

Result<SwarmState> MeteredDockerClient::swarm_state() {
  return counted("swarm_state", [&] { return inner_->swarm_state(); });
}

Result<std::string> MeteredDockerClient::create_service(const SwarmServiceSpec& spec) {
  return counted("create_service", [&] { return inner_->create_service(spec); });
}

Result<SwarmServiceInfo> MeteredDockerClient::inspect_service(const std::string& id_or_name) {
  return counted("inspect_service", [&] { return inner_->inspect_service(id_or_name); });
}

Result<std::vector<SwarmServiceInfo>> MeteredDockerClient::list_services(
    const std::vector<std::string>& label_filters) {
  return counted("list_services", [&] { return inner_->list_services(label_filters); });
}

Status MeteredDockerClient::scale_service(const std::string& id, uint64_t replicas) {
  return counted("scale_service", [&] { return inner_->scale_service(id, replicas); });
}

Status MeteredDockerClient::remove_service(const std::string& id) {
  return counted("remove_service", [&] { return inner_->remove_service(id); });
}

Result<std::vector<SwarmTask>> MeteredDockerClient::list_tasks(const std::string& service_id) {
  return counted("list_tasks", [&] { return inner_->list_tasks(service_id); });
}

Status MeteredDockerClient::service_logs(const std::string& id, const LogsOptions& options,
                                         const OutputCallback& on_output, std::stop_token stop) {
  return counted("service_logs",
                 [&] { return inner_->service_logs(id, options, on_output, stop); });
}

Result<std::vector<SwarmNode>> MeteredDockerClient::list_nodes() {
  return counted("list_nodes", [&] { return inner_->list_nodes(); });
}

}  // namespace cenv::docker
