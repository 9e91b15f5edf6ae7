// FakeDockerClient's swarm: services in memory, tasks derived from their replicas.

#include <algorithm>

#include "test/fakes/fake_docker_client.h"

namespace cenv::docker {

namespace {

bool swarm_labels_match(const std::map<std::string, std::string>& labels,
                        const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    auto eq = f.find('=');
    auto it = labels.find(eq == std::string::npos ? f : f.substr(0, eq));
    if (it == labels.end()) return false;
    if (eq != std::string::npos && it->second != f.substr(eq + 1)) return false;
  }
  return true;
}

Status not_manager() {
  return Status::FailedPrecondition(
      "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "
      "connect this node to swarm and try again.");
}

}  // namespace

FakeDockerClient::FakeService* FakeDockerClient::find_service(const std::string& ref) {
  if (auto it = services_.find(ref); it != services_.end()) return &it->second;
  for (auto& [id, s] : services_) {
    if (s.info.name == ref) return &s;
  }
  return nullptr;
}

Result<SwarmState> FakeDockerClient::swarm_state() {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("swarm_state"));
  return swarm_;
}

Result<std::string> FakeDockerClient::create_service(const SwarmServiceSpec& spec) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("create_service"));
  if (!swarm_.manager()) return not_manager();
  if (find_service(spec.name)) {
    return Status::AlreadyExists(
        "rpc error: code = AlreadyExists desc = name conflicts with an "
        "existing object: service " +
        spec.name + " already exists");
  }
  FakeService s;
  s.spec = spec;
  s.info.id = next_id().substr(0, 25);
  s.info.name = spec.name;
  s.info.version = 1;
  s.info.created = now_text();
  s.info.labels = spec.labels;
  s.info.replicas = spec.replicas;
  uint16_t next_port = 30000;
  for (SwarmPort p : spec.ports) {
    if (!p.published_port) p.published_port = next_port++;
    s.info.published_ports.push_back(p);
  }
  std::string id = s.info.id;
  if (spec.restart_condition == "none" && service_behavior_) {
    if (auto exit = service_behavior_(spec)) end_task(s, *exit, "");
  }
  services_.emplace(id, std::move(s));
  changed_.notify_all();
  return id;
}

Result<SwarmServiceInfo> FakeDockerClient::inspect_service(const std::string& id_or_name) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_service"));
  if (!swarm_.manager()) return not_manager();
  FakeService* s = find_service(id_or_name);
  if (!s) return Status::NotFound("service " + id_or_name + " not found");
  return s->info;
}

Result<std::vector<SwarmServiceInfo>> FakeDockerClient::list_services(
    const std::vector<std::string>& label_filters) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_services"));
  if (!swarm_.manager()) return not_manager();
  std::vector<SwarmServiceInfo> out;
  for (const auto& [id, s] : services_) {
    if (swarm_labels_match(s.info.labels, label_filters)) out.push_back(s.info);
  }
  return out;
}

Status FakeDockerClient::scale_service(const std::string& id, uint64_t replicas) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("scale_service"));
  if (!swarm_.manager()) return not_manager();
  FakeService* s = find_service(id);
  if (!s) return Status::NotFound("service " + id + " not found");
  if (replicas == 0 && s->spec.restart_condition == "none" && !s->exit_code) {
    end_task(*s, Exit{143, "", ""}, "shutdown");
  }
  s->info.replicas = replicas;
  s->spec.replicas = replicas;
  ++s->info.version;
  changed_.notify_all();
  return Status::Ok();
}

Status FakeDockerClient::remove_service(const std::string& id) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("remove_service"));
  if (!swarm_.manager()) return not_manager();
  FakeService* s = find_service(id);
  if (!s) return Status::NotFound("service " + id + " not found");
  services_.erase(s->info.id);
  changed_.notify_all();
  return Status::Ok();
}

Result<std::vector<SwarmTask>> FakeDockerClient::list_tasks(const std::string& service_id) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_tasks"));
  if (!swarm_.manager()) return not_manager();
  std::vector<SwarmTask> out;
  FakeService* s = find_service(service_id);
  if (!s) return out;
  if (s->exit_code) {
    SwarmTask t;
    t.id = s->info.id + "-task1";
    t.service_id = s->info.id;
    t.node_id = "fake-node";
    t.slot = 1;
    t.desired_state = "shutdown";
    t.state = s->task_state;
    t.exit_code = s->exit_code;
    t.container_id = s->info.id + "-container1";
    if (t.state == "failed")
      t.error = "task: non-zero exit (" + std::to_string(*s->exit_code) + ")";
    t.message = t.state == "shutdown" ? "shutdown" : "finished";
    t.timestamp = now_text();
    out.push_back(std::move(t));
    return out;
  }
  const int replicas = static_cast<int>(s->info.replicas);
  const int running = s->running ? std::min(*s->running, replicas) : replicas;
  for (int slot = 1; slot <= replicas; ++slot) {
    SwarmTask t;
    t.id = s->info.id + "-task" + std::to_string(slot);
    t.service_id = s->info.id;
    t.node_id = "fake-node";
    t.slot = slot;
    t.desired_state = "running";
    t.state = slot <= running ? "running" : "failed";
    t.error = slot <= running ? "" : s->task_error;
    t.message = slot <= running ? "started" : "failed";
    t.timestamp = now_text();
    out.push_back(std::move(t));
  }
  return out;
}

Status FakeDockerClient::service_logs(const std::string& id, const LogsOptions& options,
                                      const OutputCallback& on_output, std::stop_token stop) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("service_logs"));
  if (!swarm_.manager()) return not_manager();
  FakeService* found = find_service(id);
  if (!found) return Status::NotFound("service " + id + " not found");
  const std::string service_id = found->info.id;
  size_t next = 0;
  for (;;) {
    FakeService* s = find_service(service_id);
    if (!s) return Status::Ok();  // removed while followed
    while (next < s->output.size()) {
      auto [kind, bytes] = s->output[next++];
      bool wanted = kind == StreamKind::kStdout ? options.show_stdout : options.show_stderr;
      if (!wanted) continue;
      lock.unlock();
      bool go_on = on_output(kind, bytes);
      lock.lock();
      if (!go_on) return Status::Ok();
      s = find_service(service_id);
      if (!s) return Status::Ok();
    }
    // As the engine: a follow goes on past the end of the tasks, until stopped.
    if (!options.follow) return Status::Ok();
    changed_.wait(lock, stop, [&] {
      FakeService* now = find_service(service_id);
      return !now || next < now->output.size();
    });
    if (stop.stop_requested()) return Status::Ok();
  }
}

void FakeDockerClient::end_task(FakeService& s, const Exit& exit, const std::string& state) {
  if (!exit.stdout_text.empty()) s.output.emplace_back(StreamKind::kStdout, exit.stdout_text);
  if (!exit.stderr_text.empty()) s.output.emplace_back(StreamKind::kStderr, exit.stderr_text);
  s.exit_code = exit.exit_code;
  s.task_state = !state.empty() ? state : exit.exit_code == 0 ? "complete" : "failed";
  changed_.notify_all();
}

void FakeDockerClient::set_service_behavior(ServiceBehavior behavior) {
  std::lock_guard lock(mu_);
  service_behavior_ = std::move(behavior);
}

Status FakeDockerClient::finish_service_task(const std::string& id_or_name, const Exit& exit) {
  std::lock_guard lock(mu_);
  FakeService* s = find_service(id_or_name);
  if (!s) return Status::NotFound("service " + id_or_name + " not found");
  if (s->exit_code) return Status::Conflict("the task of service " + id_or_name + " ended");
  end_task(*s, exit, "");
  return Status::Ok();
}

Result<std::vector<SwarmNode>> FakeDockerClient::list_nodes() {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_nodes"));
  if (!swarm_.manager()) return not_manager();
  return std::vector<SwarmNode>{{"fake-node", "node-1"}};
}

void FakeDockerClient::set_swarm_state(SwarmState state) {
  std::lock_guard lock(mu_);
  swarm_ = std::move(state);
}

void FakeDockerClient::set_running_tasks(const std::string& id_or_name, int running,
                                         std::string error) {
  std::lock_guard lock(mu_);
  if (FakeService* s = find_service(id_or_name)) {
    s->running = running;
    s->task_error = std::move(error);
  }
  changed_.notify_all();
}

std::optional<SwarmServiceSpec> FakeDockerClient::service_spec(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, s] : services_) {
    if (s.info.name == name) return s.spec;
  }
  return std::nullopt;
}

}  // namespace cenv::docker
