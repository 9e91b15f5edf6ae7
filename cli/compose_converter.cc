#include "cli/compose_converter.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "api/kinds.h"
#include "api/names.h"
#include "cli/compose_service_fields.h"

namespace cenv::cli {

namespace json = boost::json;
using compose::add_healthcheck;
using compose::add_labels;
using compose::add_ports;
using compose::add_restart;
using compose::add_volumes;
using compose::command_words;
using compose::quote;
using compose::scalar_text;
using compose::ServiceConversion;
using compose::VolumeUsers;

namespace {

// Compose service keys that become Service fields (the rest are warned about).
const std::set<std::string, std::less<>> kCarriedKeys = {
    "image",    "build",       "command", "entrypoint", "environment",
    "env_file", "ports",       "expose",  "volumes",    "depends_on",
    "links",    "healthcheck", "restart", "labels",     "networks"};

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
    const VariableLookup* lookup = c.options().lookup ? &c.options().lookup : nullptr;
    std::vector<std::string> unset;
    auto entries = read_dotenv_file(full.string(), lookup, &unset);
    if (!entries.ok()) {
      if (entries.status().code() == Code::kNotFound && !required) continue;
      return c.error(key, entries.status().message());
    }
    for (const std::string& w : unset) c.warn("env_file " + path + ": " + w);
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
          c.warn(key +
                 ": condition service_completed_successfully is not carried over: a "
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
          c.warn(std::string(key) + ": cenv waits until " + dep +
                 " is Ready, which includes its health "
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
        c.warn("links " + quote(*link) +
               ": the alias is not carried over (the service is "
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
    if (const json::value* ctx = build->get_object().if_contains("context");
        ctx && ctx->is_string()) {
      context = std::string(ctx->get_string());
    }
  }
  std::string name = image ? std::string(image->get_string())
                           : dns_label_from(project.project) + "-" + dns_label_from(c.name());
  if (!image) spec["image"] = name;
  c.warn("build (context " + quote(context) +
         ") is not carried over: cenv builds images only "
         "from Modules, not from a Dockerfile; build the image first (docker compose build, or "
         "docker build -t " +
         name + " " + context + "): the Service runs image " + quote(name));
  return Status::Ok();
}

Result<json::object> convert_service(const std::string& compose_name, const json::value& value,
                                     const ComposeProject& project,
                                     const ComposeConvertOptions& options, VolumeUsers& volumes,
                                     std::vector<std::string>& warnings) {
  ServiceConversion c(options, compose_name, warnings);
  if (!value.is_object()) return c.error("", "must be a map");
  const json::object& svc = value.get_object();
  json::object meta{{"name", project.names.at(compose_name)}, {"namespace", project.environment}};
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
    bool only_default =
        v->is_array()    ? v->get_array().size() == 1 && v->get_array()[0] == json::value("default")
        : v->is_object() ? v->get_object().size() == 1 && v->get_object().contains("default")
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
  std::string env =
      options.environment.empty() ? dns_label_from(project.project) : options.environment;
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
      return Status::Invalid(std::string(source) + ": services." + name +
                             ": the name has no letters or digits to name a Service with");
    }
    if (auto [it, fresh] = taken.emplace(label, name); !fresh) {
      return Status::Invalid(std::string(source) + ": services." + name + ": becomes Service " +
                             quote(label) + ", as services." + it->second + " does");
    }
    if (label != name) {
      std::string warning = "service " + quote(name) + ": becomes Service " + quote(label);
      warning += " (a DNS-1123 label): other containers reach it as " + label;
      warning += ", not " + name;
      out.warnings.push_back(std::move(warning));
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
    auto svc =
        convert_service(std::string(kv.key()), kv.value(), project, options, volumes, out.warnings);
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
        out.warnings.push_back(
            "networks are not carried over: the Environment has one network, "
            "cenv-" +
            env + ", that every Service joins");
      }
      continue;
    }
    out.warnings.push_back(std::string(key) + " (top level) is not carried over");
  }
  return out;
}

}  // namespace cenv::cli
