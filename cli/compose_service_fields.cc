#include "cli/compose_service_fields.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "api/names.h"
#include "cli/compose_fields.h"

namespace cenv::cli::compose {

namespace json = boost::json;

namespace {

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

}  // namespace

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
      c.warn("volume " + quote(shown) +
             " is mounted read-write: a Service mounts volumes "
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
      return c.error("healthcheck.test", "must start with CMD, CMD-SHELL (and one string) or NONE");
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
             std::to_string(std::clamp<int64_t>(retries, 1, 100)) + " (a Service takes 1 to 100)");
      retries = std::clamp<int64_t>(retries, 1, 100);
    }
  }
  check["retries"] = retries;
  for (const auto& kv : h) {
    std::string_view k = kv.key();
    if (k != "test" && k != "interval" && k != "timeout" && k != "start_period" && k != "retries" &&
        k != "disable") {
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
    c.warn(
        "restart: unless-stopped becomes restartPolicy Always: cenv restarts the container "
        "even after a docker stop (stop it with cenv delete)");
  } else if (text->starts_with("on-failure")) {
    policy = "OnFailure";
    if (text->size() > 10) {
      c.warn("restart: " + *text +
             ": the most restarts is not carried over (cenv restarts with "
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
}  // namespace cenv::cli::compose
