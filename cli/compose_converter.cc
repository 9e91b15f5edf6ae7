#include "cli/compose_converter.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "api/kinds.h"
#include "api/names.h"
#include "cli/compose_fields.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

// Compose service keys that become Service fields (the rest are warned about).
const std::set<std::string, std::less<>> kCarriedKeys = {
    "image",   "build",  "command",     "entrypoint", "environment", "env_file", "ports",
    "expose",  "volumes", "depends_on", "links",      "healthcheck", "restart",  "labels",
    "networks"};

// Why some keys cannot be carried, for their warning (the default says none of this).
const std::map<std::string, std::string, std::less<>> kWhyNot = {
    {"working_dir", "a cenv Service has no working directory: the image's WORKDIR is used"},
    {"container_name", "the container is named by cenv (cenv-<environment>-<service>)"},
    {"hostname", "other containers reach the Service by its name"},
    {"user", "the container runs as the image's USER"},
    {"deploy", "a Service runs one container on this Docker host"},
    {"scale", "a Service runs one container"},
    {"secrets", "use the Environment's spec.secrets and the Service's secretEnv"},
    {"network_mode", "every Service joins the Environment's network"},
    {"extends", "merge the extended service into this one first"},
};

std::string quote(std::string_view s) { return json::serialize(json::string(s)); }

// A scalar as the text compose would use (8080 -> "8080", true -> "true"); nullopt otherwise.
std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    if (ec == std::errc()) return std::string(buf, end);
  }
  return std::nullopt;
}

// What one service's conversion needs and produces.
class ServiceConversion {
 public:
  ServiceConversion(const ComposeConvertOptions& options, std::string compose_name,
                    std::vector<std::string>& warnings)
      : options_(options), name_(std::move(compose_name)), warnings_(warnings) {}

  void warn(const std::string& message) {
    warnings_.push_back("service " + quote(name_) + ": " + message);
  }
  // Invalid naming the file and services.<name>.<key>.
  Status error(const std::string& key, const std::string& message) const {
    return Status::Invalid(options_.source + ": services." + name_ + (key.empty() ? "" : ".") +
                           key + ": " + message);
  }
  const std::string& name() const { return name_; }
  const ComposeConvertOptions& options() const { return options_; }

 private:
  const ComposeConvertOptions& options_;
  std::string name_;
  std::vector<std::string>& warnings_;
};

// A list of strings, or one string split into words as compose splits command strings.
Result<json::array> command_words(const json::value& v, ServiceConversion& c,
                                  const std::string& key) {
  json::array out;
  if (v.is_string()) {
    auto words = split_shell_words(v.get_string());
    if (!words.ok()) return c.error(key, words.status().message());
    for (auto& w : words.value()) out.emplace_back(w);
    return out;
  }
  if (!v.is_array()) return c.error(key, "must be a string or a list of strings");
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    auto text = scalar_text(v.get_array()[i]);
    if (!text) return c.error(key + "[" + std::to_string(i) + "]", "must be a string");
    out.emplace_back(*text);
  }
  return out;
}

// Ordered environment with later values overriding earlier ones by name.
class EnvList {
 public:
  void set(const std::string& name, std::optional<std::string> value) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      index_.emplace(name, entries_.size());
      entries_.emplace_back(name, std::move(value));
    } else {
      entries_[it->second].second = std::move(value);
    }
  }
  json::array to_json(ServiceConversion& c) const {
    json::array out;
    for (const auto& [name, value] : entries_) {
      if (!is_c_identifier(name)) {
        c.warn("environment variable " + quote(name) +
               " is not carried over: cenv variable names are C identifiers");
        continue;
      }
      if (!value) {
        c.warn("environment variable " + name +
               " has no value and is not set in this shell: it is left out");
        continue;
      }
      out.push_back(json::object{{"name", name}, {"value", *value}});
    }
    return out;
  }

 private:
  static bool is_c_identifier(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (char ch : s) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
    }
    return true;
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> entries_;
  std::map<std::string, size_t> index_;
};

Status add_env_files(const json::value& v, ServiceConversion& c, EnvList& env) {
  json::array files = v.is_array() ? v.get_array() : json::array{v};
  for (size_t i = 0; i < files.size(); ++i) {
    std::string key = v.is_array() ? "env_file[" + std::to_string(i) + "]" : "env_file";
    std::string path;
    bool required = true;
    if (files[i].is_string()) {
      path = std::string(files[i].get_string());
    } else if (files[i].is_object() && files[i].get_object().contains("path") &&
               files[i].get_object().at("path").is_string()) {
      path = std::string(files[i].get_object().at("path").get_string());
      if (const json::value* r = files[i].get_object().if_contains("required"); r && r->is_bool()) {
        required = r->get_bool();
      }
    } else {
      return c.error(key, "must be a file name or {path, required}");
    }
    std::filesystem::path full = std::filesystem::path(path).is_absolute()
                                     ? std::filesystem::path(path)
                                     : std::filesystem::path(c.options().base_dir) / path;
    auto entries = read_dotenv_file(full.string());
    if (!entries.ok()) {
      if (entries.status().code() == Code::kNotFound && !required) continue;
      return c.error(key, entries.status().message());
    }
    for (auto& [name, value] : entries.value()) env.set(name, value);
  }
  return Status::Ok();
}

Status add_environment(const json::value& v, ServiceConversion& c, EnvList& env) {
  auto from_shell = [&](const std::string& name) -> std::optional<std::string> {
    return c.options().lookup ? c.options().lookup(name) : std::nullopt;
  };
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      std::string name(kv.key());
      if (kv.value().is_null()) {
        env.set(name, from_shell(name));
        continue;
      }
      auto text = scalar_text(kv.value());
      if (!text) return c.error("environment." + name, "must be a string, number or boolean");
      env.set(name, *text);
    }
    return Status::Ok();
  }
  if (!v.is_array()) return c.error("environment", "must be a list of NAME=VALUE or a map");
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    auto text = scalar_text(v.get_array()[i]);
    if (!text) return c.error("environment[" + std::to_string(i) + "]", "must be NAME=VALUE");
    size_t eq = text->find('=');
    if (eq == std::string::npos) {
      env.set(*text, from_shell(*text));
    } else {
      env.set(text->substr(0, eq), text->substr(eq + 1));
    }
  }
  return Status::Ok();
}

Result<std::vector<ComposePort>> long_port(const json::object& p, ServiceConversion& c,
                                           const std::string& key) {
  const json::value* target = p.if_contains("target");
  auto target_text = target ? scalar_text(*target) : std::nullopt;
  if (!target_text) return c.error(key + ".target", "required: the container port");
  auto container = parse_port_range(*target_text);
  if (!container.ok()) return c.error(key + ".target", container.status().message());
  std::optional<std::pair<int, int>> host;
  if (const json::value* published = p.if_contains("published")) {
    auto text = scalar_text(*published);
    if (!text) return c.error(key + ".published", "must be a port or a range");
    auto h = parse_port_range(*text, /*allow_zero=*/true);
    if (!h.ok()) return c.error(key + ".published", h.status().message());
    host = h.value();
  }
  std::string protocol = "TCP";
  if (const json::value* proto = p.if_contains("protocol")) {
    auto text = scalar_text(*proto);
    if (text == "udp" || text == "UDP") {
      protocol = "UDP";
    } else if (text != "tcp" && text != "TCP") {
      return c.error(key + ".protocol", "must be tcp or udp");
    }
  }
  for (const auto& kv : p) {
    std::string_view k = kv.key();
    if (k != "target" && k != "published" && k != "protocol" && k != "host_ip" && k != "mode" &&
        k != "name") {
      c.warn(key + "." + std::string(k) + " is not carried over");
    }
  }
  std::vector<ComposePort> out;
  for (int port = container->first; port <= container->second; ++port) {
    ComposePort cp;
    cp.container_port = port;
    cp.host_port = host ? host->first + (port - container->first) : 0;
    if (host && host->second == host->first) cp.host_port = host->first;
    cp.protocol = protocol;
    if (const json::value* ip = p.if_contains("host_ip"); ip && ip->is_string()) {
      cp.host_ip = std::string(ip->get_string());
    }
    if (const json::value* n = p.if_contains("name"); n && n->is_string()) {
      std::string name(n->get_string());
      if (check_dns1123_label(name).empty() && name.size() <= 15) {
        cp.name = name;
      } else {
        c.warn(key + ".name " + quote(name) +
               " is not carried over: a port name is at most 15 lowercase letters, digits, '-'");
      }
    }
    out.push_back(std::move(cp));
  }
  return out;
}

Status add_ports(const json::object& svc, ServiceConversion& c, json::object& spec) {
  std::vector<std::pair<std::string, ComposePort>> ports;  // (key, port)
  if (const json::value* v = svc.if_contains("ports")) {
    if (!v->is_array()) return c.error("ports", "must be a list");
    for (size_t i = 0; i < v->get_array().size(); ++i) {
      const json::value& item = v->get_array()[i];
      std::string key = "ports[" + std::to_string(i) + "]";
      Result<std::vector<ComposePort>> parsed = std::vector<ComposePort>{};
      if (item.is_object()) {
        parsed = long_port(item.get_object(), c, key);
        if (!parsed.ok()) return parsed.status();
      } else if (auto text = scalar_text(item)) {
        std::string note;
        parsed = parse_short_ports(*text, &note);
        if (!parsed.ok()) return c.error(key, parsed.status().message());
        if (!note.empty()) c.warn(note);
      } else {
        return c.error(key, "must be a port mapping or a map with target");
      }
      for (auto& p : parsed.value()) ports.emplace_back(key, std::move(p));
    }
  }
  if (const json::value* v = svc.if_contains("expose")) {
    if (!v->is_array()) return c.error("expose", "must be a list");
    for (size_t i = 0; i < v->get_array().size(); ++i) {
      std::string key = "expose[" + std::to_string(i) + "]";
      auto text = scalar_text(v->get_array()[i]);
      if (!text) return c.error(key, "must be a port");
      auto parsed = parse_expose(*text);
      if (!parsed.ok()) return c.error(key, parsed.status().message());
      for (auto& p : parsed.value()) ports.emplace_back(key, std::move(p));
    }
  }
  json::array out;
  std::set<std::pair<int, std::string>> seen;
  for (const auto& [key, p] : ports) {
    if (!seen.insert({p.container_port, p.protocol}).second) {
      c.warn(key + ": container port " + std::to_string(p.container_port) + "/" + p.protocol +
             " is already listed: a Service publishes each container port once, so this one is "
             "left out");
      continue;
    }
    json::object port{{"containerPort", p.container_port}};
    if (p.host_port) port["hostPort"] = *p.host_port;
    if (!p.host_ip.empty()) port["hostIP"] = p.host_ip;
    if (p.protocol != "TCP") port["protocol"] = p.protocol;
    if (!p.name.empty()) port["name"] = p.name;
    out.push_back(std::move(port));
  }
  if (!out.empty()) spec["ports"] = std::move(out);
  return Status::Ok();
}

// Named volumes used, by compose volume name: the services that mount each.
using VolumeUsers = std::map<std::string, std::vector<std::string>>;

Status add_volumes(const json::object& svc, ServiceConversion& c, json::object& spec,
                   VolumeUsers& users) {
  const json::value* v = svc.if_contains("volumes");
  if (!v) return Status::Ok();
  if (!v->is_array()) return c.error("volumes", "must be a list");
  json::array out;
  std::set<std::string> names;
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const json::value& item = v->get_array()[i];
    std::string key = "volumes[" + std::to_string(i) + "]";
    ComposeMount m;
    if (item.is_string()) {
      auto parsed = parse_short_volume(item.get_string());
      if (!parsed.ok()) return c.error(key, parsed.status().message());
      m = parsed.value();
    } else if (item.is_object()) {
      const json::object& o = item.get_object();
      auto field = [&](std::string_view k) {
        const json::value* f = o.if_contains(k);
        return f && f->is_string() ? std::string(f->get_string()) : std::string();
      };
      m.type = field("type");
      m.source = field("source");
      m.target = field("target");
      if (const json::value* ro = o.if_contains("read_only"); ro && ro->is_bool()) {
        m.read_only = ro->get_bool();
      }
      if (m.type.empty()) return c.error(key + ".type", "required: volume, bind or tmpfs");
      if (m.target.empty() || m.target.front() != '/') {
        return c.error(key + ".target", "required: an absolute path in the container");
      }
      if (m.type == "volume" && m.source.empty()) m.type = "anonymous";
      for (const auto& kv : o) {
        std::string_view k = kv.key();
        if (k != "type" && k != "source" && k != "target" && k != "read_only") {
          c.warn(key + "." + std::string(k) + " is not carried over");
        }
      }
    } else {
      return c.error(key, "must be SOURCE:TARGET[:MODE] or a map with type and target");
    }
    std::string shown = m.source.empty() ? m.target : m.source + ":" + m.target;
    if (m.type != "volume") {
      std::string what = m.type == "bind"        ? "bind mount"
                         : m.type == "anonymous" ? "anonymous volume"
                                                 : m.type + " mount";
      c.warn(what + " " + quote(shown) +
             " is not carried over: a cenv Service mounts only named volumes (copy the files "
             "into the image, or use a named volume)");
      continue;
    }
    std::string name = dns_label_from(m.source);
    if (name.empty()) return c.error(key, "volume name " + quote(m.source) + " has no letters");
    if (!names.insert(name).second) {
      c.warn("volume " + quote(shown) + " is not carried over: volume " + quote(name) +
             " is already mounted (a Service mounts a volume once)");
      continue;
    }
    if (m.read_only) {
      c.warn("volume " + quote(shown) + " is mounted read-write: a Service mounts volumes "
             "read-write");
    }
    users[m.source].push_back(c.name());
    out.push_back(json::object{{"name", name}, {"mountPath", m.target}});
  }
  if (!out.empty()) spec["volumes"] = std::move(out);
  return Status::Ok();
}

Status add_healthcheck(const json::value& v, ServiceConversion& c, json::object& spec) {
  if (!v.is_object()) return c.error("healthcheck", "must be a map");
  const json::object& h = v.get_object();
  if (const json::value* d = h.if_contains("disable"); d && d->is_bool() && d->get_bool()) {
    return Status::Ok();
  }
  json::object check;
  const json::value* test = h.if_contains("test");
  if (!test) return c.error("healthcheck.test", "required (or disable: true)");
  json::array exec;
  if (test->is_string()) {
    exec = {"/bin/sh", "-c", test->get_string()};
  } else if (test->is_array() && !test->get_array().empty()) {
    auto words = command_words(*test, c, "healthcheck.test");
    if (!words.ok()) return words.status();
    std::string kind(words.value()[0].get_string());
    json::array rest(words.value().begin() + 1, words.value().end());
    if (kind == "NONE") return Status::Ok();
    if (kind == "CMD") {
      exec = std::move(rest);
    } else if (kind == "CMD-SHELL" && rest.size() == 1) {
      exec = {"/bin/sh", "-c", rest[0]};
    } else {
      return c.error("healthcheck.test",
                     "must start with CMD, CMD-SHELL (and one string) or NONE");
    }
    if (exec.empty()) return c.error("healthcheck.test", "CMD needs a command");
  } else {
    return c.error("healthcheck.test", "must be a string or a list");
  }
  check["exec"] = std::move(exec);
  // docker compose's defaults, written out: cenv's own differ (10s interval, 5s timeout).
  const std::pair<const char*, const char*> durations[] = {
      {"interval", "interval"}, {"timeout", "timeout"}, {"start_period", "startPeriod"}};
  for (const auto& [from, to] : durations) {
    const json::value* d = h.if_contains(from);
    std::string text = d && d->is_string() ? std::string(d->get_string()) : "";
    if (!d) text = std::string_view(from) == "start_period" ? "0s" : "30s";
    auto ms = parse_go_duration(text);
    if (!ms) {
      return c.error(std::string("healthcheck.") + from,
                     "must be a duration such as 10s, 1m30s or 500ms");
    }
    check[to] = cenv_duration(*ms);
  }
  int64_t retries = 3;
  if (const json::value* r = h.if_contains("retries")) {
    if (!r->is_int64()) return c.error("healthcheck.retries", "must be a whole number");
    retries = r->get_int64();
    if (retries < 1 || retries > 100) {
      c.warn("healthcheck.retries " + std::to_string(retries) + " becomes " +
             std::to_string(std::clamp<int64_t>(retries, 1, 100)) +
             " (a Service takes 1 to 100)");
      retries = std::clamp<int64_t>(retries, 1, 100);
    }
  }
  check["retries"] = retries;
  for (const auto& kv : h) {
    std::string_view k = kv.key();
    if (k != "test" && k != "interval" && k != "timeout" && k != "start_period" &&
        k != "retries" && k != "disable") {
      c.warn("healthcheck." + std::string(k) + " is not carried over");
    }
  }
  spec["healthCheck"] = std::move(check);
  return Status::Ok();
}

Status add_restart(const json::value& v, ServiceConversion& c, json::object& spec) {
  auto text = scalar_text(v);
  if (!text) return c.error("restart", "must be no, always, on-failure[:N] or unless-stopped");
  std::string policy;
  if (*text == "no" || *text == "false") {
    policy = "Never";
  } else if (*text == "always") {
    policy = "Always";
  } else if (*text == "unless-stopped") {
    policy = "Always";
    c.warn("restart: unless-stopped becomes restartPolicy Always: cenv restarts the container "
           "even after a docker stop (stop it with cenv delete)");
  } else if (text->starts_with("on-failure")) {
    policy = "OnFailure";
    if (text->size() > 10) {
      c.warn("restart: " + *text + ": the most restarts is not carried over (cenv restarts with "
             "back-off, without a limit)");
    }
  } else {
    return c.error("restart", "must be no, always, on-failure[:N] or unless-stopped");
  }
  spec["restartPolicy"] = policy;
  return Status::Ok();
}

Status add_labels(const json::value& v, ServiceConversion& c, json::object& meta) {
  std::vector<std::pair<std::string, std::string>> labels;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      auto text = scalar_text(kv.value());
      if (!text) return c.error("labels." + std::string(kv.key()), "must be a string");
      labels.emplace_back(std::string(kv.key()), *text);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.get_array().size(); ++i) {
      auto text = scalar_text(v.get_array()[i]);
      if (!text) return c.error("labels[" + std::to_string(i) + "]", "must be KEY=VALUE");
      size_t eq = text->find('=');
      labels.emplace_back(text->substr(0, eq),
                          eq == std::string::npos ? std::string() : text->substr(eq + 1));
    }
  } else {
    return c.error("labels", "must be a map or a list of KEY=VALUE");
  }
  if (labels.empty()) return Status::Ok();
  json::object as_labels, as_annotations;
  for (auto& [k, value] : labels) {
    bool label = check_label_key(k).empty() && check_label_value(value).empty();
    (label ? as_labels : as_annotations)[k] = value;
  }
  if (!as_labels.empty()) meta["labels"] = std::move(as_labels);
  if (!as_annotations.empty()) meta["annotations"] = std::move(as_annotations);
  c.warn("labels label the Service object (cenv get -l), not its container" +
         std::string(meta.contains("annotations")
                         ? "; those that are not valid label values are annotations"
                         : ""));
  return Status::Ok();
}

}  // namespace

std::string dns_label_from(std::string_view name) {
  std::string out;
  for (char ch : name) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if ((c == '-' || c == '_' || c == '.' || c == ' ') && !out.empty() &&
               out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

namespace {

// What every service's conversion needs to know of the others.
struct ComposeProject {
  std::map<std::string, std::string> names;  // compose service name -> Service name
  std::set<std::string> with_healthcheck;    // compose names of services with a health check
  std::string environment;
  std::string project;
};

Status add_dependencies(const json::object& svc, ServiceConversion& c,
                        const ComposeProject& project, json::object& spec) {
  json::array out;
  std::set<std::string> added;
  auto depend = [&](const std::string& dep, const std::string& key) -> Status {
    auto it = project.names.find(dep);
    if (it == project.names.end()) return c.error(key, "no service named " + quote(dep));
    if (added.insert(it->second).second) out.emplace_back(it->second);
    return Status::Ok();
  };
  if (const json::value* v = svc.if_contains("depends_on")) {
    if (v->is_array()) {
      for (size_t i = 0; i < v->get_array().size(); ++i) {
        std::string key = "depends_on[" + std::to_string(i) + "]";
        auto dep = scalar_text(v->get_array()[i]);
        if (!dep) return c.error(key, "must be a service name");
        if (project.with_healthcheck.contains(*dep)) {
          c.warn("depends_on " + *dep + ": cenv waits until " + *dep +
                 " is Ready, which includes its health check (compose starts this service once " +
                 *dep + " has started)");
        }
        CENV_RETURN_IF_ERROR(depend(*dep, key));
      }
    } else if (v->is_object()) {
      for (const auto& kv : v->get_object()) {
        std::string dep(kv.key());
        std::string key = "depends_on." + dep;
        std::string condition = "service_started";
        if (kv.value().is_object()) {
          const json::object& o = kv.value().get_object();
          if (const json::value* cond = o.if_contains("condition"); cond && cond->is_string()) {
            condition = std::string(cond->get_string());
          }
          for (const auto& opt : o) {
            if (opt.key() != "condition") {
              c.warn(key + "." + std::string(opt.key()) + " is not carried over");
            }
          }
        } else if (!kv.value().is_null()) {
          return c.error(key, "must be a map with condition");
        }
        if (condition == "service_completed_successfully") {
          c.warn(key + ": condition service_completed_successfully is not carried over: a "
                 "Service waits for Services that are Ready (run a one-off job as a CommandRun)");
          if (!project.names.contains(dep)) return c.error(key, "no service named " + quote(dep));
          continue;
        }
        if (condition != "service_started" && condition != "service_healthy") {
          return c.error(key + ".condition",
                         "must be service_started, service_healthy or "
                         "service_completed_successfully");
        }
        if (condition == "service_started" && project.with_healthcheck.contains(dep)) {
          c.warn(key + ": cenv waits until " + dep + " is Ready, which includes its health "
                 "check (condition service_started would not wait for it)");
        }
        CENV_RETURN_IF_ERROR(depend(dep, key));
      }
    } else {
      return c.error("depends_on", "must be a list or a map");
    }
  }
  if (const json::value* v = svc.if_contains("links")) {
    if (!v->is_array()) return c.error("links", "must be a list");
    for (size_t i = 0; i < v->get_array().size(); ++i) {
      std::string key = "links[" + std::to_string(i) + "]";
      auto link = scalar_text(v->get_array()[i]);
      if (!link) return c.error(key, "must be SERVICE[:ALIAS]");
      size_t colon = link->find(':');
      if (colon != std::string::npos) {
        c.warn("links " + quote(*link) + ": the alias is not carried over (the service is "
               "reached by its name)");
      }
      CENV_RETURN_IF_ERROR(depend(link->substr(0, colon), key));
    }
  }
  if (!out.empty()) spec["dependsOn"] = std::move(out);
  return Status::Ok();
}

Status add_image(const json::object& svc, ServiceConversion& c, const ComposeProject& project,
                 json::object& spec) {
  const json::value* image = svc.if_contains("image");
  if (image && !image->is_string()) return c.error("image", "must be a string");
  const json::value* build = svc.if_contains("build");
  if (image) spec["image"] = image->get_string();
  if (!build) {
    if (!image) return c.error("", "needs an image (or build)");
    return Status::Ok();
  }
  std::string context = build->is_string() ? std::string(build->get_string()) : ".";
  if (build->is_object()) {
    if (const json::value* ctx = build->get_object().if_contains("context"); ctx && ctx->is_string()) {
      context = std::string(ctx->get_string());
    }
  }
  std::string name = image ? std::string(image->get_string())
                           : dns_label_from(project.project) + "-" + dns_label_from(c.name());
  if (!image) spec["image"] = name;
  c.warn("build (context " + quote(context) + ") is not carried over: cenv builds images only "
         "from Modules, not from a Dockerfile; build the image first (docker compose build, or "
         "docker build -t " + name + " " + context + "): the Service runs image " + quote(name));
  return Status::Ok();
}

Result<json::object> convert_service(const std::string& compose_name, const json::value& value,
                                     const ComposeProject& project,
                                     const ComposeConvertOptions& options, VolumeUsers& volumes,
                                     std::vector<std::string>& warnings) {
  ServiceConversion c(options, compose_name, warnings);
  if (!value.is_object()) return c.error("", "must be a map");
  const json::object& svc = value.get_object();
  json::object meta{{"name", project.names.at(compose_name)},
                    {"namespace", project.environment}};
  json::object spec;
  CENV_RETURN_IF_ERROR(add_image(svc, c, project, spec));
  if (const json::value* v = svc.if_contains("entrypoint")) {
    auto words = command_words(*v, c, "entrypoint");
    if (!words.ok()) return words.status();
    if (words.value().empty()) {
      c.warn("entrypoint: an empty entrypoint is not carried over: the image's ENTRYPOINT runs");
    } else {
      spec["command"] = std::move(words.value());
    }
  }
  if (const json::value* v = svc.if_contains("command")) {
    auto words = command_words(*v, c, "command");
    if (!words.ok()) return words.status();
    if (!words.value().empty()) spec["args"] = std::move(words.value());
  }
  EnvList env;
  if (const json::value* v = svc.if_contains("env_file")) {
    CENV_RETURN_IF_ERROR(add_env_files(*v, c, env));
  }
  if (const json::value* v = svc.if_contains("environment")) {
    CENV_RETURN_IF_ERROR(add_environment(*v, c, env));
  }
  if (json::array list = env.to_json(c); !list.empty()) spec["env"] = std::move(list);
  CENV_RETURN_IF_ERROR(add_ports(svc, c, spec));
  CENV_RETURN_IF_ERROR(add_volumes(svc, c, spec, volumes));
  if (const json::value* v = svc.if_contains("healthcheck")) {
    CENV_RETURN_IF_ERROR(add_healthcheck(*v, c, spec));
  }
  // Compose's default is "no": a container that exits stays down.
  spec["restartPolicy"] = "Never";
  if (const json::value* v = svc.if_contains("restart")) {
    CENV_RETURN_IF_ERROR(add_restart(*v, c, spec));
  }
  CENV_RETURN_IF_ERROR(add_dependencies(svc, c, project, spec));
  if (const json::value* v = svc.if_contains("labels")) {
    CENV_RETURN_IF_ERROR(add_labels(*v, c, meta));
  }
  if (const json::value* v = svc.if_contains("networks")) {
    bool only_default = v->is_array() ? v->get_array().size() == 1 &&
                                            v->get_array()[0] == json::value("default")
                        : v->is_object() ? v->get_object().size() == 1 &&
                                               v->get_object().contains("default")
                                         : false;
    if (!only_default) {
      c.warn("networks are not carried over: every Service joins the Environment's network");
    }
  }
  for (const auto& kv : svc) {
    std::string_view key = kv.key();
    if (kCarriedKeys.contains(key) || key.starts_with("x-")) continue;
    auto why = kWhyNot.find(key);
    c.warn(std::string(key) + " is not carried over" +
           (why == kWhyNot.end() ? std::string() : ": " + why->second));
  }
  return json::object{{"apiVersion", "cenv.io/v1"},
                      {"kind", "Service"},
                      {"metadata", std::move(meta)},
                      {"spec", std::move(spec)}};
}

bool has_healthcheck(const json::value& svc) {
  if (!svc.is_object()) return false;
  const json::value* h = svc.get_object().if_contains("healthcheck");
  if (!h || !h->is_object()) return false;
  if (const json::value* d = h->get_object().if_contains("disable"); d && d->is_bool()) {
    if (d->get_bool()) return false;
  }
  const json::value* test = h->get_object().if_contains("test");
  return test && !(test->is_array() && !test->get_array().empty() &&
                   test->get_array()[0] == json::value("NONE"));
}

}  // namespace

Result<ComposeConversion> convert_compose(const json::value& compose,
                                          const ComposeConvertOptions& options) {
  const std::string& source = options.source;
  if (!compose.is_object()) {
    return Status::Invalid(source + ": not a compose file: expected a map with a services key");
  }
  const json::object& top = compose.get_object();
  const json::value* services = top.if_contains("services");
  if (!services || !services->is_object()) {
    return Status::Invalid(source + ": services: not a compose file: it needs a services map " +
                           "(service name: {image, ...})");
  }
  ComposeConversion out;
  ComposeProject project;
  project.project = options.project;
  if (const json::value* n = top.if_contains("name"); n && n->is_string()) {
    project.project = std::string(n->get_string());
  }
  std::string env = options.environment.empty() ? dns_label_from(project.project)
                                                : options.environment;
  if (std::string why = check_dns1123_label(env); !why.empty()) {
    return Status::Invalid(source + ": environment name " + quote(env) + ": " + why +
                           " (choose one with --environment)");
  }
  project.environment = env;
  std::map<std::string, std::string> taken;  // Service name -> compose name
  for (const auto& kv : services->get_object()) {
    std::string name(kv.key());
    std::string label = dns_label_from(name);
    if (label.empty()) {
      return Status::Invalid(source + ": services." + name +
                             ": the name has no letters or digits to name a Service with");
    }
    if (auto [it, fresh] = taken.emplace(label, name); !fresh) {
      return Status::Invalid(source + ": services." + name + ": becomes Service " + quote(label) +
                             ", as services." + it->second + " does");
    }
    if (label != name) {
      out.warnings.push_back("service " + quote(name) + ": becomes Service " + quote(label) +
                             " (a DNS-1123 label): other containers reach it as " + label +
                             ", not " + name);
    }
    project.names[name] = label;
    if (has_healthcheck(kv.value())) project.with_healthcheck.insert(name);
  }
  out.objects.push_back(json::object{{"apiVersion", "cenv.io/v1"},
                                     {"kind", "Environment"},
                                     {"metadata", json::object{{"name", env}}},
                                     {"spec", json::object{}}});
  VolumeUsers volumes;
  for (const auto& kv : services->get_object()) {
    auto svc = convert_service(std::string(kv.key()), kv.value(), project, options, volumes,
                               out.warnings);
    if (!svc.ok()) return svc.status();
    out.objects.push_back(std::move(svc.value()));
  }
  for (const auto& [volume, users] : volumes) {
    if (users.size() < 2) continue;
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    out.warnings.push_back("volume " + quote(volume) + " is shared by services " + list +
                           ": each Service gets a volume of its own "
                           "(cenv-<environment>-<service>-<volume>), so they no longer share "
                           "its files");
  }
  for (const auto& kv : top) {
    std::string_view key = kv.key();
    if (key == "services" || key == "name" || key == "version" || key.starts_with("x-")) continue;
    const json::value& v = kv.value();
    if (key == "volumes" && v.is_object()) {
      for (const auto& vol : v.get_object()) {
        if (vol.value().is_object() && !vol.value().get_object().empty()) {
          out.warnings.push_back("volumes." + std::string(vol.key()) +
                                 ": its options (driver, external, name, ...) are not carried "
                                 "over: cenv creates a plain local volume per Service");
        }
      }
      continue;
    }
    if (key == "volumes" && v.is_null()) continue;
    if (key == "networks" && v.is_object()) {
      bool only_default = v.get_object().size() == 1 && v.get_object().contains("default");
      if (!only_default && !v.get_object().empty()) {
        out.warnings.push_back("networks are not carried over: the Environment has one network, "
                               "cenv-" + env + ", that every Service joins");
      }
      continue;
    }
    out.warnings.push_back(std::string(key) + " (top level) is not carried over");
  }
  return out;
}

}  // namespace cenv::cli
