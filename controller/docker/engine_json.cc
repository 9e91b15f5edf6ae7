#include "controller/docker/engine_json.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <cinttypes>
#include <cstdio>
#include <exception>

#include "api/clock.h"
#include "api/json_fields.h"

namespace cenv::docker {

namespace json = boost::json;

namespace {

// An integer of the engine's answer, read as it comes rather than checked: unlike int64_field, a
// double is truncated and a uint64 above INT64_MAX wraps; absent, null or not a number reads 0.
int64_t engine_int64(const json::object& o, std::string_view key) {
  if (std::optional<int64_t> i = int64_field(o, key)) return *i;
  const json::value* v = value_field(o, key);
  if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v && v->is_double()) return static_cast<int64_t>(v->get_double());
  return 0;
}

std::string without_slash(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

std::string unix_to_rfc3339(int64_t secs) {
  return format_rfc3339(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(secs)));
}

// Strips a "/16" prefix length from an address.
std::string without_prefix_length(std::string addr) {
  if (auto slash = addr.find('/'); slash != std::string::npos) addr.resize(slash);
  return addr;
}

// Parses `body` and runs `decode` on the root; any malformed shape becomes Internal.
template <typename T, typename Decode>
Result<T> decode_body(std::string_view body, std::string_view what, Decode decode) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) {
    return Status::Internal("malformed " + std::string(what) + " from docker: " + ec.message());
  }
  try {
    return decode(root);
  } catch (const std::exception& e) {
    return Status::Internal("unexpected " + std::string(what) + " from docker: " + e.what());
  }
}

const json::object& root_object(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("not a JSON object");
  return v.get_object();
}

const json::array& root_array(const json::value& v) {
  if (!v.is_array()) throw std::invalid_argument("not a JSON array");
  return v.get_array();
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object to_object(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string port_key(uint16_t port, const std::string& protocol) {
  return std::to_string(port) + "/" + (protocol.empty() ? "tcp" : protocol);
}

ContainerInfo container_info_from(const json::object& o) {
  ContainerInfo info;
  info.id = string_field(o, "Id");
  info.name = without_slash(std::string(string_field(o, "Name")));
  info.image_id = string_field(o, "Image");
  info.created = string_field(o, "Created");
  info.restart_count = static_cast<int>(engine_int64(o, "RestartCount"));
  if (const json::object* c = object_field(o, "Config")) {
    info.image = string_field(*c, "Image");
    info.cmd = string_list_field(*c, "Cmd");
    info.entrypoint = string_list_field(*c, "Entrypoint");
    info.env = string_list_field(*c, "Env");
    info.working_dir = string_field(*c, "WorkingDir");
    info.tty = bool_field(*c, "Tty");
    info.open_stdin = bool_field(*c, "OpenStdin");
    info.labels = string_map_field(*c, "Labels");
  }
  if (const json::object* s = object_field(o, "State")) {
    ContainerState& st = info.state;
    st.status = string_field(*s, "Status");
    st.running = bool_field(*s, "Running");
    st.paused = bool_field(*s, "Paused");
    st.restarting = bool_field(*s, "Restarting");
    st.oom_killed = bool_field(*s, "OOMKilled");
    st.dead = bool_field(*s, "Dead");
    st.pid = static_cast<int>(engine_int64(*s, "Pid"));
    st.exit_code = static_cast<int>(engine_int64(*s, "ExitCode"));
    st.error = string_field(*s, "Error");
    st.started_at = string_field(*s, "StartedAt");
    st.finished_at = string_field(*s, "FinishedAt");
  }
  if (const json::object* ns = object_field(o, "NetworkSettings")) {
    if (const json::object* ports = object_field(*ns, "Ports")) {
      for (const auto& [key, bindings] : *ports) {
        if (!bindings.is_array()) continue;  // exposed, not published
        std::string_view k = key;
        auto slash = k.find('/');
        PortBinding pb;
        pb.container_port = static_cast<uint16_t>(std::stoi(std::string(k.substr(0, slash))));
        pb.protocol = slash == std::string_view::npos ? "tcp" : std::string(k.substr(slash + 1));
        for (const auto& b : bindings.get_array()) {
          if (!b.is_object()) continue;
          PortBinding bound = pb;
          bound.host_ip = string_field(b.get_object(), "HostIp");
          std::string hp(string_field(b.get_object(), "HostPort"));
          bound.host_port = hp.empty() ? 0 : static_cast<uint16_t>(std::stoi(hp));
          info.ports.push_back(std::move(bound));
        }
      }
    }
    if (const json::object* nets = object_field(*ns, "Networks")) {
      for (const auto& [name, ep] : *nets) {
        if (!ep.is_object()) continue;
        EndpointInfo e;
        e.network_id = string_field(ep.get_object(), "NetworkID");
        e.ip_address = string_field(ep.get_object(), "IPAddress");
        e.gateway = string_field(ep.get_object(), "Gateway");
        e.aliases = string_list_field(ep.get_object(), "Aliases");
        info.networks.emplace(std::string(name), std::move(e));
      }
    }
  }
  return info;
}

NetworkInfo network_info_from(const json::object& o) {
  NetworkInfo n;
  n.id = string_field(o, "Id");
  n.name = string_field(o, "Name");
  n.driver = string_field(o, "Driver");
  n.scope = string_field(o, "Scope");
  n.internal = bool_field(o, "Internal");
  n.created = string_field(o, "Created");
  n.labels = string_map_field(o, "Labels");
  if (const json::object* cs = object_field(o, "Containers")) {
    for (const auto& [id, c] : *cs) {
      n.containers.emplace(
          std::string(id),
          c.is_object()
              ? without_prefix_length(std::string(string_field(c.get_object(), "IPv4Address")))
              : std::string());
    }
  }
  return n;
}

VolumeInfo volume_info_from(const json::object& o) {
  VolumeInfo v;
  v.name = string_field(o, "Name");
  v.driver = string_field(o, "Driver");
  v.mountpoint = string_field(o, "Mountpoint");
  v.created = string_field(o, "CreatedAt");
  v.scope = string_field(o, "Scope");
  v.labels = string_map_field(o, "Labels");
  return v;
}

}  // namespace

std::string filters_json(const std::map<std::string, std::vector<std::string>>& filters) {
  json::object o;
  for (const auto& [k, v] : filters) {
    if (!v.empty()) o[k] = to_array(v);
  }
  return o.empty() ? std::string() : json::serialize(o);
}

std::string string_map_json(const std::map<std::string, std::string>& map) {
  return json::serialize(to_object(map));
}

std::string container_create_body(const ContainerSpec& spec) {
  json::object o;
  o["Image"] = spec.image;
  if (!spec.cmd.empty()) o["Cmd"] = to_array(spec.cmd);
  if (!spec.entrypoint.empty()) o["Entrypoint"] = to_array(spec.entrypoint);
  if (!spec.env.empty()) o["Env"] = to_array(spec.env);
  o["Labels"] = to_object(spec.labels);
  if (!spec.working_dir.empty()) o["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) o["User"] = spec.user;
  if (!spec.hostname.empty()) o["Hostname"] = spec.hostname;
  o["Tty"] = spec.tty;
  o["OpenStdin"] = spec.open_stdin;
  o["StdinOnce"] = spec.stdin_once;
  o["AttachStdin"] = spec.open_stdin;
  o["AttachStdout"] = true;
  o["AttachStderr"] = true;
  if (spec.stop_timeout_seconds) o["StopTimeout"] = *spec.stop_timeout_seconds;
  if (!spec.stop_signal.empty()) o["StopSignal"] = spec.stop_signal;
  o["Healthcheck"] = json::object{{"Test", json::array{"NONE"}}};

  json::object exposed;
  for (const auto& p : spec.exposed_ports) exposed[port_key(p.port, p.protocol)] = json::object();
  json::object bindings;
  for (const auto& b : spec.port_bindings) {
    std::string key = port_key(b.container_port, b.protocol);
    exposed[key] = json::object();
    json::object binding{{"HostIp", b.host_ip},
                         {"HostPort", b.host_port ? std::to_string(b.host_port) : ""}};
    auto it = bindings.find(key);
    if (it == bindings.end()) {
      bindings[key] = json::array{binding};
    } else {
      it->value().as_array().push_back(binding);
    }
  }
  if (!exposed.empty()) o["ExposedPorts"] = std::move(exposed);

  json::object host;
  if (!bindings.empty()) host["PortBindings"] = std::move(bindings);
  if (!spec.mounts.empty()) {
    json::array mounts;
    for (const auto& m : spec.mounts) {
      mounts.push_back(json::object{{"Type", m.type == Mount::Type::kBind ? "bind" : "volume"},
                                    {"Source", m.source},
                                    {"Target", m.target},
                                    {"ReadOnly", m.read_only}});
    }
    host["Mounts"] = std::move(mounts);
  }
  if (!spec.network.empty()) host["NetworkMode"] = spec.network;
  if (!spec.extra_hosts.empty()) host["ExtraHosts"] = to_array(spec.extra_hosts);
  if (spec.init) host["Init"] = true;
  host["AutoRemove"] = spec.auto_remove;
  o["HostConfig"] = std::move(host);

  if (!spec.network.empty()) {
    json::object endpoint;
    if (!spec.network_aliases.empty()) endpoint["Aliases"] = to_array(spec.network_aliases);
    o["NetworkingConfig"] =
        json::object{{"EndpointsConfig", json::object{{spec.network, std::move(endpoint)}}}};
  }
  return json::serialize(o);
}

std::string exec_create_body(const ExecSpec& spec) {
  json::object o;
  o["Cmd"] = to_array(spec.cmd);
  if (!spec.env.empty()) o["Env"] = to_array(spec.env);
  if (!spec.working_dir.empty()) o["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) o["User"] = spec.user;
  o["Tty"] = spec.tty;
  o["AttachStdin"] = spec.attach_stdin;
  o["AttachStdout"] = spec.attach_stdout;
  o["AttachStderr"] = spec.attach_stderr;
  o["Privileged"] = spec.privileged;
  return json::serialize(o);
}

std::string network_create_body(const NetworkSpec& spec) {
  json::object o;
  o["Name"] = spec.name;
  o["Driver"] = spec.driver.empty() ? "bridge" : spec.driver;
  o["CheckDuplicate"] = true;
  o["Internal"] = spec.internal;
  o["Attachable"] = spec.attachable;
  o["Labels"] = to_object(spec.labels);
  return json::serialize(o);
}

std::string volume_create_body(const VolumeSpec& spec) {
  json::object o;
  if (!spec.name.empty()) o["Name"] = spec.name;
  o["Driver"] = spec.driver.empty() ? "local" : spec.driver;
  o["Labels"] = to_object(spec.labels);
  if (!spec.driver_opts.empty()) o["DriverOpts"] = to_object(spec.driver_opts);
  return json::serialize(o);
}

Result<EngineVersion> parse_version(std::string_view body) {
  return decode_body<EngineVersion>(body, "version", [](const json::value& v) {
    const json::object& o = root_object(v);
    EngineVersion out;
    out.api_version = string_field(o, "ApiVersion");
    out.server_version = string_field(o, "Version");
    out.min_api_version = string_field(o, "MinAPIVersion");
    out.os = string_field(o, "Os");
    out.arch = string_field(o, "Arch");
    out.kernel_version = string_field(o, "KernelVersion");
    return out;
  });
}

Result<std::string> parse_created_id(std::string_view body) {
  return decode_body<std::string>(body, "create answer", [](const json::value& v) {
    const json::object& o = root_object(v);
    std::string id(string_field(o, "Id"));
    if (id.empty()) throw std::invalid_argument("no Id");
    return id;
  });
}

Result<ContainerInfo> parse_container_info(std::string_view body) {
  return decode_body<ContainerInfo>(body, "container inspect", [](const json::value& v) {
    return container_info_from(root_object(v));
  });
}

Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body) {
  return decode_body<std::vector<ContainerSummary>>(
      body, "container list", [](const json::value& v) {
        std::vector<ContainerSummary> out;
        for (const auto& e : root_array(v)) {
          const json::object& o = root_object(e);
          ContainerSummary s;
          s.id = string_field(o, "Id");
          auto names = string_list_field(o, "Names");
          if (!names.empty()) s.name = without_slash(names.front());
          s.image = string_field(o, "Image");
          s.image_id = string_field(o, "ImageID");
          s.state = string_field(o, "State");
          s.status = string_field(o, "Status");
          s.created = unix_to_rfc3339(engine_int64(o, "Created"));
          s.labels = string_map_field(o, "Labels");
          out.push_back(std::move(s));
        }
        return out;
      });
}

Result<WaitResult> parse_wait_result(std::string_view body) {
  return decode_body<WaitResult>(body, "wait answer", [](const json::value& v) {
    const json::object& o = root_object(v);
    WaitResult r;
    r.exit_code = static_cast<int>(engine_int64(o, "StatusCode"));
    if (const json::object* e = object_field(o, "Error")) r.error = string_field(*e, "Message");
    return r;
  });
}

Result<ExecInfo> parse_exec_info(std::string_view body) {
  return decode_body<ExecInfo>(body, "exec inspect", [](const json::value& v) {
    const json::object& o = root_object(v);
    ExecInfo e;
    e.id = string_field(o, "ID");
    e.container_id = string_field(o, "ContainerID");
    e.running = bool_field(o, "Running");
    e.pid = static_cast<int>(engine_int64(o, "Pid"));
    if (const json::object* pc = object_field(o, "ProcessConfig")) e.tty = bool_field(*pc, "tty");
    // ExitCode is null until the process has exited.
    if (!e.running && value_field(o, "ExitCode"))
      e.exit_code = static_cast<int>(engine_int64(o, "ExitCode"));
    return e;
  });
}

Result<NetworkInfo> parse_network_info(std::string_view body) {
  return decode_body<NetworkInfo>(body, "network inspect", [](const json::value& v) {
    return network_info_from(root_object(v));
  });
}

Result<std::vector<NetworkInfo>> parse_network_list(std::string_view body) {
  return decode_body<std::vector<NetworkInfo>>(body, "network list", [](const json::value& v) {
    std::vector<NetworkInfo> out;
    for (const auto& e : root_array(v)) out.push_back(network_info_from(root_object(e)));
    return out;
  });
}

Result<VolumeInfo> parse_volume_info(std::string_view body) {
  return decode_body<VolumeInfo>(body, "volume inspect", [](const json::value& v) {
    return volume_info_from(root_object(v));
  });
}

Result<std::vector<VolumeInfo>> parse_volume_list(std::string_view body) {
  return decode_body<std::vector<VolumeInfo>>(body, "volume list", [](const json::value& v) {
    std::vector<VolumeInfo> out;
    if (const json::array* vols = array_field(root_object(v), "Volumes")) {
      for (const auto& e : *vols) out.push_back(volume_info_from(root_object(e)));
    }
    return out;
  });
}

Result<ImageInfo> parse_image_info(std::string_view body) {
  return decode_body<ImageInfo>(body, "image inspect", [](const json::value& v) {
    const json::object& o = root_object(v);
    ImageInfo i;
    i.id = string_field(o, "Id");
    i.tags = string_list_field(o, "RepoTags");
    i.created = string_field(o, "Created");
    i.size = engine_int64(o, "Size");
    if (const json::object* c = object_field(o, "Config"))
      i.labels = string_map_field(*c, "Labels");
    return i;
  });
}

Result<std::vector<ImageInfo>> parse_image_list(std::string_view body) {
  return decode_body<std::vector<ImageInfo>>(body, "image list", [](const json::value& v) {
    std::vector<ImageInfo> out;
    for (const auto& e : root_array(v)) {
      const json::object& o = root_object(e);
      ImageInfo i;
      i.id = string_field(o, "Id");
      for (auto& t : string_list_field(o, "RepoTags")) {
        if (t != "<none>:<none>") i.tags.push_back(std::move(t));
      }
      i.created = unix_to_rfc3339(engine_int64(o, "Created"));
      i.size = engine_int64(o, "Size");
      i.labels = string_map_field(o, "Labels");
      out.push_back(std::move(i));
    }
    return out;
  });
}

Result<DockerEvent> parse_event(std::string_view message) {
  return decode_body<DockerEvent>(message, "event", [](const json::value& v) {
    const json::object& o = root_object(v);
    DockerEvent e;
    e.type = string_field(o, "Type");
    e.action = string_field(o, "Action");
    if (e.action.empty()) e.action = string_field(o, "status");
    if (const json::object* actor = object_field(o, "Actor")) {
      e.id = string_field(*actor, "ID");
      e.attributes = string_map_field(*actor, "Attributes");
    }
    if (e.id.empty()) e.id = string_field(o, "id");
    e.time_nano = engine_int64(o, "timeNano");
    if (e.time_nano == 0) e.time_nano = engine_int64(o, "time") * 1'000'000'000;
    return e;
  });
}

std::string registry_auth_header(const std::optional<RegistryAuth>& auth) {
  json::object o;
  if (auth) {
    o["username"] = auth->username;
    o["password"] = auth->password;
    o["serveraddress"] = auth->server_address;
  }
  std::string text = json::serialize(o);
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string unix_time_param(TimePoint t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, ns / 1'000'000'000, ns % 1'000'000'000);
  return buf;
}

}  // namespace cenv::docker
