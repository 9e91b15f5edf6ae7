// EngineDockerClient's swarm calls (/info, /services, /tasks, /nodes) and their JSON.

#include <boost/json.hpp>
#include <utility>

#include "api/json_fields.h"
#include "controller/docker/engine_docker_client.h"
#include "controller/docker/engine_json.h"
#include "controller/docker/engine_status.h"
#include "controller/docker/engine_transport.h"
#include "controller/docker/stream_demuxer.h"

namespace cenv::docker {

namespace json = boost::json;

namespace {

std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      auto u = static_cast<unsigned char>(c);
      out += {'%', kHex[u >> 4], kHex[u & 15]};
    }
  }
  return out;
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

json::object to_object(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string service_create_body(const SwarmServiceSpec& spec) {
  json::object container{{"Image", spec.image}, {"Init", spec.init}};
  if (!spec.command.empty()) container["Command"] = to_array(spec.command);
  if (!spec.args.empty()) container["Args"] = to_array(spec.args);
  if (!spec.env.empty()) container["Env"] = to_array(spec.env);
  if (!spec.working_dir.empty()) container["Dir"] = spec.working_dir;
  if (!spec.hostname.empty()) container["Hostname"] = spec.hostname;
  container["Labels"] = to_object(spec.container_labels);
  container["StopGracePeriod"] = spec.stop_grace_period_ns;
  if (spec.health_check) {
    const SwarmHealthCheck& h = *spec.health_check;
    container["HealthCheck"] = json::object{{"Test", to_array(h.test)},
                                            {"Interval", h.interval_ns},
                                            {"Timeout", h.timeout_ns},
                                            {"StartPeriod", h.start_period_ns},
                                            {"Retries", h.retries}};
  }
  json::array mounts;
  for (const SwarmMount& m : spec.mounts) {
    mounts.push_back(
        json::object{{"Type", "volume"},
                     {"Source", m.source},
                     {"Target", m.target},
                     {"VolumeOptions", json::object{{"Labels", to_object(m.volume_labels)}}}});
  }
  if (!mounts.empty()) container["Mounts"] = std::move(mounts);

  json::object task{{"ContainerSpec", std::move(container)},
                    {"RestartPolicy", json::object{{"Condition", spec.restart_condition},
                                                   {"Delay", spec.restart_delay_ns}}}};
  if (!spec.network.empty()) {
    task["Networks"] =
        json::array{json::object{{"Target", spec.network}, {"Aliases", to_array(spec.aliases)}}};
  }
  json::object o{{"Name", spec.name},
                 {"Labels", to_object(spec.labels)},
                 {"TaskTemplate", std::move(task)},
                 {"Mode", json::object{{"Replicated", json::object{{"Replicas", spec.replicas}}}}}};
  json::array ports;
  for (const SwarmPort& p : spec.ports) {
    json::object port{{"Protocol", p.protocol.empty() ? "tcp" : p.protocol},
                      {"TargetPort", p.target_port},
                      {"PublishMode", "ingress"}};
    if (p.published_port) port["PublishedPort"] = *p.published_port;
    ports.push_back(std::move(port));
  }
  if (!ports.empty())
    o["EndpointSpec"] = json::object{{"Mode", "vip"}, {"Ports", std::move(ports)}};
  return json::serialize(o);
}

Result<json::value> parse(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec)
    return Status::Internal("malformed " + std::string(what) + " from docker: " + ec.message());
  return v;
}

const json::object& as_object(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("not a JSON object");
  return v.get_object();
}

uint64_t to_u64(std::optional<int64_t> v) { return v && *v > 0 ? static_cast<uint64_t>(*v) : 0; }

SwarmServiceInfo service_from(const json::object& o) {
  SwarmServiceInfo s;
  s.id = std::string(string_field(o, "ID"));
  s.version = to_u64(int64_field(object_field(o, "Version"), "Index"));
  s.created = std::string(string_field(o, "CreatedAt"));
  const json::object* spec = object_field(o, "Spec");
  s.name = std::string(string_field(spec, "Name"));
  s.labels = string_map_field(spec, "Labels");
  s.replicas =
      to_u64(int64_field(object_field(object_field(spec, "Mode"), "Replicated"), "Replicas"));
  if (const json::array* ports = array_field(object_field(o, "Endpoint"), "Ports")) {
    for (const json::value& pv : *ports) {
      const json::object& p = as_object(pv);
      SwarmPort port;
      port.target_port = static_cast<uint16_t>(int64_field(p, "TargetPort").value_or(0));
      if (auto pub = int64_field(p, "PublishedPort"))
        port.published_port = static_cast<uint16_t>(*pub);
      port.protocol = std::string(string_field(p, "Protocol"));
      s.published_ports.push_back(port);
    }
  }
  return s;
}

SwarmTask task_from(const json::object& o) {
  SwarmTask t;
  t.id = std::string(string_field(o, "ID"));
  t.service_id = std::string(string_field(o, "ServiceID"));
  t.node_id = std::string(string_field(o, "NodeID"));
  t.slot = static_cast<int>(int64_field(o, "Slot").value_or(0));
  t.desired_state = std::string(string_field(o, "DesiredState"));
  const json::object* st = object_field(o, "Status");
  t.state = std::string(string_field(st, "State"));
  t.message = std::string(string_field(st, "Message"));
  t.error = std::string(string_field(st, "Err"));
  t.timestamp = std::string(string_field(st, "Timestamp"));
  const json::object* cs = object_field(st, "ContainerStatus");
  t.container_id = std::string(string_field(cs, "ContainerID"));
  if (auto code = int64_field(cs, "ExitCode")) t.exit_code = static_cast<int>(*code);
  return t;
}

// Decodes a JSON array of objects with `from`.
template <typename T, typename From>
Result<std::vector<T>> parse_list(std::string_view body, std::string_view what, From from) {
  auto v = parse(body, what);
  if (!v.ok()) return v.status();
  try {
    if (!v->is_array()) throw std::invalid_argument("not a JSON array");
    std::vector<T> out;
    for (const json::value& e : v->get_array()) out.push_back(from(as_object(e)));
    return out;
  } catch (const std::exception& e) {
    return Status::Internal("unexpected " + std::string(what) + " from docker: " + e.what());
  }
}

}  // namespace

Result<std::string> EngineDockerClient::unary(HttpMethod method, std::string target,
                                              std::string body, bool conflict_is_exists) {
  EngineRequest request(method, std::move(target), std::move(body));
  auto response = transport_->roundtrip(request, options_.request_timeout);
  if (!response.ok()) return response.status();
  Status s = status_from_http(
      response->status, response->body,
      conflict_is_exists ? ConflictMeans::kAlreadyExists : ConflictMeans::kConflict);
  // "This node is not a swarm manager. Use "docker swarm init" ..." comes as 503: the engine
  // is up, it is not in a swarm.
  if (s.code() == Code::kUnavailable && s.message().find("swarm") != std::string::npos) {
    return Status::FailedPrecondition(s.message());
  }
  if (!s.ok()) return s;
  return std::move(response->body);
}

Result<SwarmState> EngineDockerClient::swarm_state() {
  auto body = unary(HttpMethod::kGet, path("/info"));
  if (!body.ok()) return body.status();
  auto v = parse(*body, "info");
  if (!v.ok()) return v.status();
  if (!v->is_object()) return Status::Internal("unexpected info from docker: not an object");
  const json::object* swarm = object_field(v->get_object(), "Swarm");
  SwarmState s;
  s.local_node_state = std::string(string_field(swarm, "LocalNodeState"));
  s.control_available = bool_field(swarm, "ControlAvailable");
  s.node_id = std::string(string_field(swarm, "NodeID"));
  s.error = std::string(string_field(swarm, "Error"));
  return s;
}

Result<std::string> EngineDockerClient::create_service(const SwarmServiceSpec& spec) {
  auto body = unary(HttpMethod::kPost, path("/services/create"), service_create_body(spec), true);
  if (!body.ok()) return body.status();
  auto v = parse(*body, "service create answer");
  if (!v.ok()) return v.status();
  std::string_view id = v->is_object() ? string_field(v->get_object(), "ID") : "";
  if (id.empty()) return Status::Internal("unexpected service create answer from docker: no ID");
  return std::string(id);
}

Result<SwarmServiceInfo> EngineDockerClient::inspect_service(const std::string& id_or_name) {
  auto body = unary(HttpMethod::kGet, path("/services/" + escape(id_or_name)));
  if (!body.ok()) return body.status();
  auto v = parse(*body, "service inspect");
  if (!v.ok()) return v.status();
  try {
    return service_from(as_object(*v));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("unexpected service inspect from docker: ") + e.what());
  }
}

Result<std::vector<SwarmServiceInfo>> EngineDockerClient::list_services(
    const std::vector<std::string>& label_filters) {
  std::string q =
      label_filters.empty() ? "" : "?filters=" + escape(filters_json({{"label", label_filters}}));
  auto body = unary(HttpMethod::kGet, path("/services" + q));
  if (!body.ok()) return body.status();
  return parse_list<SwarmServiceInfo>(*body, "service list", service_from);
}

Status EngineDockerClient::scale_service(const std::string& id, uint64_t replicas) {
  auto body = unary(HttpMethod::kGet, path("/services/" + escape(id)));
  if (!body.ok()) return body.status();
  auto v = parse(*body, "service inspect");
  if (!v.ok()) return v.status();
  json::object* root = v->if_object();
  json::value* spec = root ? root->if_contains("Spec") : nullptr;
  if (!spec || !spec->is_object()) return Status::Internal("service " + id + " has no Spec");
  uint64_t version = to_u64(int64_field(object_field(*root, "Version"), "Index"));
  spec->get_object()["Mode"] = json::object{{"Replicated", json::object{{"Replicas", replicas}}}};
  auto updated =
      unary(HttpMethod::kPost,
            path("/services/" + escape(id) + "/update?version=" + std::to_string(version)),
            json::serialize(*spec));
  return updated.ok() ? Status::Ok() : updated.status();
}

Status EngineDockerClient::remove_service(const std::string& id) {
  auto body = unary(HttpMethod::kDelete, path("/services/" + escape(id)));
  return body.ok() ? Status::Ok() : body.status();
}

Result<std::vector<SwarmTask>> EngineDockerClient::list_tasks(const std::string& service_id) {
  auto body = unary(HttpMethod::kGet,
                    path("/tasks?filters=" + escape(filters_json({{"service", {service_id}}}))));
  if (!body.ok()) return body.status();
  return parse_list<SwarmTask>(*body, "task list", task_from);
}

Status EngineDockerClient::service_logs(const std::string& id, const LogsOptions& options,
                                        const OutputCallback& on_output, std::stop_token stop) {
  std::string q = "?stdout=" + std::string(options.show_stdout ? "1" : "0") +
                  "&stderr=" + (options.show_stderr ? "1" : "0");
  if (options.follow) q += "&follow=1";
  if (options.timestamps) q += "&timestamps=1";
  EngineRequest request(HttpMethod::kGet, path("/services/" + escape(id) + "/logs" + q));
  // cenv's services run without a TTY: the stream is multiplexed.
  StreamDemuxer demux(false);
  auto end = transport_->stream(
      request, nullptr, [&](std::string_view bytes) { return demux.feed(bytes, on_output); }, stop);
  if (!end.ok()) return end.status();
  if (end->status >= 300) {
    Status s = status_from_http(end->status, end->error_body);
    if (s.code() == Code::kUnavailable && s.message().find("swarm") != std::string::npos) {
      return Status::FailedPrecondition(s.message());
    }
    return s;
  }
  if (end->cancelled) return Status::Ok();
  if (end->stopped) return demux.error();
  return demux.finish();
}

Result<std::vector<SwarmNode>> EngineDockerClient::list_nodes() {
  auto body = unary(HttpMethod::kGet, path("/nodes"));
  if (!body.ok()) return body.status();
  return parse_list<SwarmNode>(*body, "node list", [](const json::object& o) {
    return SwarmNode{std::string(string_field(o, "ID")),
                     std::string(string_field(object_field(o, "Description"), "Hostname"))};
  });
}

}  // namespace cenv::docker
