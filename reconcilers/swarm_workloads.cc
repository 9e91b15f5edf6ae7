#include "reconcilers/swarm_workloads.h"

#include <algorithm>
#include <map>
#include <set>

#include "reconcilers/service_spec.h"

namespace cenv {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;

}  // namespace

SwarmWorkloads::SwarmWorkloads(DockerConnection& docker, WorkloadsOptions options)
    : docker_(docker), options_(std::move(options)), local_(docker, options_) {}

std::string SwarmWorkloads::not_a_manager_message(const std::string& engine_message) {
  return "the Environment's spec.runtime is swarm but this Docker engine is not a swarm "
         "manager: run `docker swarm init` (or join it to a swarm as a manager), or set "
         "spec.runtime to docker (" +
         engine_message + ")";
}

Status SwarmWorkloads::explain(Status s) {
  if (s.code() == Code::kFailedPrecondition && s.message().find("swarm") != std::string::npos &&
      s.message().find("docker swarm init`") == std::string::npos) {
    return Status::FailedPrecondition(not_a_manager_message(s.message()));
  }
  return s;
}

Result<std::vector<Workload>> SwarmWorkloads::find(const WorkloadOwner& owner) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto listed = d.value()->list_services(options_.names.filters(owner.kind, owner.ns, owner.name));
  if (!listed.ok()) return explain(listed.status());
  std::map<std::string, std::string> hostnames;  // node id -> hostname, read once if needed
  std::vector<Workload> out;
  for (const docker::SwarmServiceInfo& s : listed.value()) {
    auto tasks = d.value()->list_tasks(s.id);
    if (!tasks.ok()) return explain(tasks.status());
    Workload w;
    w.id = s.id;
    w.uid = label_value(s.labels, kLabelUid);
    w.spec_hash = label_value(s.labels, kLabelSpecHash);
    w.created = s.created;
    w.started_at = s.created;
    w.finished_at = "0001-01-01T00:00:00Z";
    w.running = true;
    WorkloadReplicas r;
    r.desired = s.replicas;
    std::set<std::string> nodes;
    std::string newest_problem_at;
    for (const docker::SwarmTask& t : tasks.value()) {
      if (t.state == "running" && t.desired_state == "running") {
        ++r.ready;
        nodes.insert(t.node_id);
      } else if (!t.error.empty() && t.timestamp >= newest_problem_at) {
        newest_problem_at = t.timestamp;
        r.problem = "task " + t.id.substr(0, 12) + " " + t.state + ": " + t.error;
      }
    }
    if (!nodes.empty() && hostnames.empty()) {
      auto listed_nodes = d.value()->list_nodes();
      if (!listed_nodes.ok()) return explain(listed_nodes.status());
      for (const docker::SwarmNode& n : listed_nodes.value()) hostnames[n.id] = n.hostname;
    }
    std::set<std::string> names;
    for (const std::string& n : nodes) {
      auto it = hostnames.find(n);
      names.insert(it == hostnames.end() || it->second.empty() ? n : it->second);
    }
    r.nodes.assign(names.begin(), names.end());
    w.state = r.ready >= r.desired ? "running" : "converging";
    for (const docker::SwarmPort& p : s.published_ports) {
      if (!p.published_port) continue;
      w.endpoints.push_back("0.0.0.0:" + std::to_string(*p.published_port) + "/" +
                            (p.protocol.empty() ? "tcp" : p.protocol));
    }
    w.replicas = std::move(r);
    out.push_back(std::move(w));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Workload& a, const Workload& b) { return a.created < b.created; });
  return out;
}

Result<std::string> SwarmWorkloads::create(const WorkloadSpec& spec) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  const WorkloadOwner& o = spec.owner;
  docker::SwarmServiceSpec s;
  s.name = swarm_name(options_.names.container(o.ns, o.name));
  s.container_labels = options_.names.labels(o.kind, o.ns, o.name, o.uid);
  s.labels = s.container_labels;
  s.labels[std::string(kLabelSpecHash)] = spec.spec_hash;
  s.image = spec.image;
  s.command = spec.command;
  s.args = spec.args;
  s.env = spec.env;
  s.hostname = o.name;
  s.init = true;
  s.stop_grace_period_ns = int64_t{options_.stop_timeout_seconds} * 1000 * kNanosPerMilli;
  s.replicas = spec.replicas;
  s.network = spec.network;
  s.aliases = spec.aliases;
  if (const auto& sv = spec.supervision) {
    s.restart_condition = sv->restart_condition;
    if (!sv->health_test.empty()) {
      s.health_check = docker::SwarmHealthCheck{
          .test = sv->health_test,
          .interval_ns = sv->health_interval.count() * kNanosPerMilli,
          .timeout_ns = sv->health_timeout.count() * kNanosPerMilli,
          .start_period_ns = sv->health_start_period.count() * kNanosPerMilli,
          .retries = sv->health_retries};
    }
  }
  for (const WorkloadPort& p : spec.ports) {
    if (!p.host_port) continue;  // not published: reachable on the network only
    docker::SwarmPort port{.target_port = p.container_port, .protocol = p.protocol};
    if (*p.host_port != 0) port.published_port = *p.host_port;
    s.ports.push_back(port);
  }
  for (const WorkloadVolume& v : spec.volumes) {
    docker::Labels labels = options_.names.labels(o.kind, o.ns, o.name, o.uid);
    labels[std::string(kLabelVolume)] = v.name;
    s.mounts.push_back({options_.names.volume(o.ns, o.name, v.name), v.mount_path, labels});
  }
  auto id = d.value()->create_service(s);
  if (!id.ok()) return explain(id.status());
  return id.value();
}

Status SwarmWorkloads::start(const std::string&) { return Status::Ok(); }

Status SwarmWorkloads::scale(const std::string& id, uint64_t replicas) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  return explain(d.value()->scale_service(id, replicas));
}

Status SwarmWorkloads::remove(const std::string& id) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  Status s = d.value()->remove_service(id);
  if (!s.ok() && s.code() == Code::kNotFound) return Status::Ok();
  return explain(s);
}

Status SwarmWorkloads::remove_volumes(const WorkloadOwner& owner,
                                      const std::vector<std::string>& mounted) {
  return local_.remove_volumes(owner, mounted);
}

Status SwarmWorkloads::ensure_image(const std::string& image,
                                    const std::optional<docker::RegistryAuth>& auth) {
  return local_.ensure_image(image, auth);
}

Result<int> SwarmWorkloads::exec(const std::string& id, const std::vector<std::string>& cmd,
                                 std::chrono::milliseconds timeout) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto tasks = d.value()->list_tasks(id);
  if (!tasks.ok()) return explain(tasks.status());
  for (const docker::SwarmTask& t : tasks.value()) {
    if (t.state == "running" && !t.container_id.empty())
      return local_.exec(t.container_id, cmd, timeout);
  }
  return Status::Unavailable("service " + id.substr(0, 12) + " has no running task");
}

}  // namespace cenv
