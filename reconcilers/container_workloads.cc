#include "reconcilers/container_workloads.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

#include "reconcilers/docker_names.h"

namespace cenv {

namespace {

Workload to_workload(const docker::ContainerInfo& c) {
  Workload w;
  w.id = c.id;
  w.uid = label_value(c.labels, kLabelUid);
  w.spec_hash = label_value(c.labels, kLabelSpecHash);
  w.state = c.state.status;
  w.running = c.state.running;
  w.exit_code = c.state.exit_code;
  w.error = c.state.error;
  w.created = c.created;
  w.started_at = c.state.started_at;
  w.finished_at = c.state.finished_at;
  for (const auto& [name, endpoint] : c.networks) {
    if (!endpoint.ip_address.empty()) {
      w.address = endpoint.ip_address;
      break;
    }
  }
  std::set<std::string> seen;
  for (const docker::PortBinding& p : c.ports) {
    if (p.host_port == 0) continue;
    // Docker binds the IPv4 and the IPv6 wildcard for one published port: show it once.
    if (p.host_ip == "::") continue;
    std::string host = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
    std::string e = host + ":" + std::to_string(p.host_port) + "/" + p.protocol;
    if (seen.insert(e).second) w.endpoints.push_back(e);
  }
  return w;
}

}  // namespace

ContainerWorkloads::ContainerWorkloads(DockerConnection& docker, WorkloadsOptions options)
    : docker_(docker), options_(std::move(options)) {}

Result<std::vector<Workload>> ContainerWorkloads::find(const WorkloadOwner& owner) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto listed = d.value()->list_containers(
      {.all = true, .label_filters = options_.names.filters(owner.kind, owner.ns, owner.name)});
  if (!listed.ok()) return listed.status();
  std::vector<Workload> out;
  for (const docker::ContainerSummary& s : listed.value()) {
    // A swarm task's container carries its Service's labels too: the swarm's, not ours.
    if (s.labels.contains("com.docker.swarm.task.id")) continue;
    auto info = d.value()->inspect_container(s.id);
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) continue;  // removed meanwhile
      return info.status();
    }
    out.push_back(to_workload(info.value()));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Workload& a, const Workload& b) { return a.created < b.created; });
  return out;
}

Result<std::string> ContainerWorkloads::create(const WorkloadSpec& spec) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  const WorkloadOwner& o = spec.owner;
  docker::ContainerSpec c;
  c.name = options_.names.container(o.ns, o.name);
  c.image = spec.image;
  c.entrypoint = spec.command;
  c.cmd = spec.args;
  c.env = spec.env;
  c.labels = options_.names.labels(o.kind, o.ns, o.name, o.uid);
  c.labels[std::string(kLabelSpecHash)] = spec.spec_hash;
  c.hostname = o.name;
  c.network = spec.network;
  c.network_aliases = spec.aliases;
  c.init = true;
  c.stop_timeout_seconds = options_.stop_timeout_seconds;
  for (const WorkloadPort& p : spec.ports) {
    c.exposed_ports.push_back({p.container_port, p.protocol});
    if (p.host_port) {
      c.port_bindings.push_back({p.container_port, p.protocol, p.host_ip, *p.host_port});
    }
  }
  for (const WorkloadVolume& v : spec.volumes) {
    std::string vname = options_.names.volume(o.ns, o.name, v.name);
    docker::Labels labels = options_.names.labels(o.kind, o.ns, o.name, o.uid);
    labels[std::string(kLabelVolume)] = v.name;
    auto vol = d.value()->create_volume({.name = vname, .labels = labels});
    if (!vol.ok()) return vol.status().with_prefix("volume " + vname);
    c.mounts.push_back({docker::Mount::Type::kVolume, vname, v.mount_path, false});
  }
  auto id = d.value()->create_container(c);
  if (!id.ok()) return id.status();
  if (Status s = d.value()->start_container(id.value()); !s.ok()) return s;
  return id.value();
}

Status ContainerWorkloads::start(const std::string& id) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  return d.value()->start_container(id);
}

Status ContainerWorkloads::scale(const std::string& id, uint64_t replicas) {
  if (replicas == 1) return Status::Ok();
  return Status::FailedPrecondition("container " + id.substr(0, 12) +
                                    " is one copy: the docker runtime cannot run " +
                                    std::to_string(replicas));
}

Status ContainerWorkloads::remove(const std::string& id) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  Status stopped = d.value()->stop_container(id, options_.stop_timeout_seconds);
  if (!stopped.ok() && stopped.code() == Code::kNotFound) return Status::Ok();
  Status removed = d.value()->remove_container(id, {.force = true});
  if (!removed.ok() && removed.code() == Code::kNotFound) return Status::Ok();
  // "removal of container ... is already in progress"
  if (!removed.ok() && removed.code() == Code::kConflict &&
      removed.message().find("already in progress") != std::string::npos) {
    return Status::Ok();
  }
  return removed;
}

Status ContainerWorkloads::remove_volumes(const WorkloadOwner& owner,
                                          const std::vector<std::string>& mounted) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto vols = d.value()->list_volumes(options_.names.filters(owner.kind, owner.ns, owner.name));
  if (!vols.ok()) return vols.status();
  for (const docker::VolumeInfo& v : vols.value()) {
    bool mine = label_value(v.labels, kLabelUid) == owner.uid ||
                std::find(mounted.begin(), mounted.end(), v.name) != mounted.end();
    if (!mine) continue;  // another object's
    Status s = d.value()->remove_volume(v.name);
    if (!s.ok() && s.code() != Code::kNotFound) return s.with_prefix("volume " + v.name);
  }
  return Status::Ok();
}

Status ContainerWorkloads::ensure_image(const std::string& image,
                                        const std::optional<docker::RegistryAuth>& auth) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto found = d.value()->inspect_image(image);
  if (found.ok()) return Status::Ok();
  if (found.status().code() != Code::kNotFound) return found.status();
  Status pulled = d.value()->pull_image(image, auth);
  if (!pulled.ok()) {
    // Unavailable is kept for Docker itself being unreachable.
    const Code code = pulled.code() == Code::kNotFound || pulled.code() == Code::kUnauthenticated
                          ? pulled.code()
                          : Code::kFailedPrecondition;
    return Status(code, "image " + image +
                            " is not present locally and could not be pulled: " + pulled.message());
  }
  return Status::Ok();
}

Result<int> ContainerWorkloads::exec(const std::string& id, const std::vector<std::string>& cmd,
                                     std::chrono::milliseconds timeout) {
  auto d = docker_.client();
  if (!d.ok()) return d.status();
  auto exec_id = d.value()->create_exec(id, {.cmd = cmd});
  if (!exec_id.ok()) return exec_id.status();
  // start_exec streams until the process exits; a watchdog cuts it at the timeout.
  std::stop_source cut;
  std::mutex mu;
  std::condition_variable_any cv;
  bool finished = false;
  std::jthread watchdog([&](const std::stop_token&) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return finished; })) cut.request_stop();
  });
  Status s = d.value()->start_exec(
      exec_id.value(), {}, [](docker::StreamKind, std::string_view) { return true; },
      cut.get_token());
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  if (cut.stop_requested()) {
    return Status::Unavailable("timed out after " + std::to_string(timeout.count()) + "ms");
  }
  if (!s.ok()) return s;
  auto info = d.value()->inspect_exec(exec_id.value());
  if (!info.ok()) return info.status();
  if (!info->exit_code) return Status::Internal("exec " + exec_id.value() + " has no exit code");
  return *info->exit_code;
}

}  // namespace cenv
