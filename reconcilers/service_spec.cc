#include "reconcilers/service_spec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "api/clock.h"
#include "api/conditions.h"
#include "api/json_fields.h"
#include "reconcilers/container_env.h"
#include "reconcilers/docker_names.h"

namespace cenv {

namespace json = boost::json;

namespace {

Status duration_field(const json::object& o, std::string_view key, std::string_view path,
                      std::chrono::milliseconds* out) {
  std::string_view text = string_field(o, key);
  if (text.empty()) return Status::Ok();
  auto d = parse_duration(text);
  if (!d.ok()) {
    std::string p = std::string(path) + "." + std::string(key);
    return Status::Invalid(p + ": " + d.status().message(), {{p, d.status().message()}});
  }
  *out = d.value();
  return Status::Ok();
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return Status::Invalid("empty duration");
  std::chrono::milliseconds total{0};
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1'000'000'000)
        return Status::Invalid("duration too long: \"" + std::string(text) + "\"");
      n = n * 10 + (text[i++] - '0');
    }
    if (i == start) break;
    if (text.substr(i, 2) == "ms") {
      total += std::chrono::milliseconds(n);
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      total += std::chrono::seconds(n);
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      total += std::chrono::minutes(n);
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      total += std::chrono::hours(n);
      ++i;
    } else {
      i = start;  // a number without a unit
      break;
    }
  }
  if (i != text.size() || i == 0) {
    return Status::Invalid("must be a duration such as 500ms, 10s, 1m30s or 2h, got \"" +
                           std::string(text) + "\"");
  }
  return total;
}

Result<ServiceSpec> parse_service_spec(const Object& service) {
  ServiceSpec out;
  const json::object* spec = service.spec_or_null();
  if (spec == nullptr) return out;
  out.image = std::string(string_field(*spec, "image"));
  out.depends_on = string_list_field(*spec, "dependsOn");
  out.replicas =
      static_cast<uint64_t>(std::max<int64_t>(0, int64_field(*spec, "replicas").value_or(1)));
  std::string_view policy = string_field(*spec, "restartPolicy");
  if (policy == "OnFailure") out.restart_policy = RestartPolicy::kOnFailure;
  if (policy == "Never") out.restart_policy = RestartPolicy::kNever;
  if (const json::object* health_check = object_field(*spec, "healthCheck")) {
    const json::object& h = *health_check;
    HealthCheckSpec check;
    check.exec = string_list_field(h, "exec");
    check.tcp_port = static_cast<uint16_t>(int64_field(h, "tcpPort").value_or(0));
    check.retries = static_cast<int>(int64_field(h, "retries").value_or(3));
    CENV_RETURN_IF_ERROR(duration_field(h, "interval", "spec.healthCheck", &check.interval));
    CENV_RETURN_IF_ERROR(duration_field(h, "timeout", "spec.healthCheck", &check.timeout));
    CENV_RETURN_IF_ERROR(duration_field(h, "startPeriod", "spec.healthCheck", &check.start_period));
    if (check.interval.count() <= 0) check.interval = std::chrono::seconds(10);
    if (check.timeout.count() <= 0) check.timeout = std::chrono::seconds(5);
    if (check.retries < 1) check.retries = 1;
    if (!check.exec.empty() || check.tcp_port != 0) out.health_check = check;
  }
  return out;
}

std::string environment_network(const Object& environment, const DockerNames& names) {
  return runtime_network(environment, names,
                         string_field(environment.spec_or_null(), "runtime") == "swarm");
}

std::string runtime_network(const Object& environment, const DockerNames& names, bool swarm) {
  std::string_view network = string_field(environment.spec_or_null(), "network");
  if (!network.empty()) return std::string(network);
  std::string name = names.network(environment.name());
  return swarm ? swarm_name(name) : name;
}

std::string swarm_name(std::string_view docker_name) {
  std::string out(docker_name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::optional<std::string> network_wait(const Object& environment, const DockerNames& names,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::milliseconds slow_after) {
  auto ready = get_condition(environment, "NetworkReady");
  // A condition of an older spec may speak of the network of another runtime (a switch).
  const bool stale = ready && ready->observed_generation > 0 &&
                     ready->observed_generation < environment.generation();
  if (ready && ready->status == kConditionTrue && !stale) return std::nullopt;
  std::string message = "waiting for network " + environment_network(environment, names) +
                        " of Environment " + std::string(environment.name());
  std::string since;
  if (stale) {
    message += " (the Environment's spec changed; its network is not checked yet)";
    since = ready->last_transition_time;
  } else if (ready) {
    message +=
        " (NetworkReady " + ready->status + ", " + ready->reason + ": " + ready->message + ")";
    since = ready->last_transition_time;
  } else {
    message += " to be created";
    since = string_field(environment.metadata_or_null(), "creationTimestamp");
  }
  std::chrono::system_clock::time_point since_time;
  if (!since.empty() && parse_rfc3339(since, &since_time) && now - since_time > slow_after) {
    message += "; not ready since " + since + ", more than " +
               std::to_string(std::chrono::ceil<std::chrono::seconds>(slow_after).count()) + "s";
  }
  return message;
}

Result<WorkloadSpec> service_workload(const Object& service, const Object& environment,
                                      const std::string& image, const DockerNames& names,
                                      const SecretOpener* secrets) {
  static const json::object kEmpty;
  const json::object* spec = service.spec_or_null();
  if (spec == nullptr) spec = &kEmpty;
  WorkloadSpec w;
  w.owner = {std::string(service.kind()), std::string(service.ns()), std::string(service.name()),
             std::string(service.uid())};
  w.image = image;
  w.command = string_list_field(*spec, "command");
  w.args = string_list_field(*spec, "args");

  auto env = container_env(service, environment, secrets);
  if (!env.ok()) return env.status();
  w.env = std::move(env).value();

  if (const json::array* p = array_field(*spec, "ports")) {
    for (const json::value& item : *p) {
      if (!item.is_object()) continue;
      const json::object& o = item.get_object();
      WorkloadPort port;
      port.container_port = static_cast<uint16_t>(int64_field(o, "containerPort").value_or(0));
      if (o.contains("hostPort")) {
        port.host_port = static_cast<uint16_t>(int64_field(o, "hostPort").value_or(0));
      }
      port.host_ip = std::string(string_field(o, "hostIP"));
      port.protocol = string_field(o, "protocol") == "UDP" ? "udp" : "tcp";
      w.ports.push_back(port);
    }
  }
  if (const json::array* v = array_field(*spec, "volumes")) {
    for (const json::value& item : *v) {
      if (!item.is_object()) continue;
      w.volumes.push_back({std::string(string_field(item.get_object(), "name")),
                           std::string(string_field(item.get_object(), "mountPath"))});
    }
  }
  w.replicas =
      static_cast<uint64_t>(std::max<int64_t>(0, int64_field(*spec, "replicas").value_or(1)));
  w.network = environment_network(environment, names);
  w.aliases = {std::string(service.name())};
  w.spec_hash = workload_hash(w);
  return w;
}

WorkloadSupervision workload_supervision(const ServiceSpec& spec) {
  WorkloadSupervision out;
  out.restart_condition = spec.restart_policy == RestartPolicy::kAlways      ? "any"
                          : spec.restart_policy == RestartPolicy::kOnFailure ? "on-failure"
                                                                             : "none";
  if (const auto& h = spec.health_check) {
    if (!h->exec.empty()) {
      out.health_test = {"CMD"};
      out.health_test.insert(out.health_test.end(), h->exec.begin(), h->exec.end());
    } else {
      out.health_test = {
          "CMD-SHELL", "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(h->tcp_port) + "'"};
    }
    out.health_interval = h->interval;
    out.health_timeout = h->timeout;
    out.health_start_period = h->start_period;
    out.health_retries = h->retries;
  }
  return out;
}

std::string workload_hash(const WorkloadSpec& spec) {
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  json::array ports;
  for (const WorkloadPort& p : spec.ports) {
    ports.push_back(json::object{{"c", p.container_port},
                                 {"h", p.host_port ? json::value(*p.host_port) : json::value()},
                                 {"ip", p.host_ip},
                                 {"p", p.protocol}});
  }
  json::array vols;
  for (const WorkloadVolume& v : spec.volumes)
    vols.push_back(json::array{json::value(v.name), json::value(v.mount_path)});
  json::object doc{{"image", spec.image},     {"command", arr(spec.command)},
                   {"args", arr(spec.args)},  {"env", arr(spec.env)},
                   {"ports", ports},          {"volumes", vols},
                   {"network", spec.network}, {"aliases", arr(spec.aliases)},
                   {"uid", spec.owner.uid}};
  if (const auto& sv = spec.supervision) {
    doc["supervision"] = json::object{
        {"restart", sv->restart_condition},         {"test", arr(sv->health_test)},
        {"interval", sv->health_interval.count()},  {"timeout", sv->health_timeout.count()},
        {"start", sv->health_start_period.count()}, {"retries", sv->health_retries}};
  }
  std::string text = json::serialize(doc);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace cenv
