#include "reconcilers/commandrun_target.h"

#include <boost/json.hpp>
#include <cstdio>
#include <functional>

#include "api/conditions.h"
#include "api/json_fields.h"
#include "reconcilers/container_env.h"

namespace cenv {

namespace json = boost::json;

std::string attempt_container_name(const DockerNames& names, const Object& run, int attempt) {
  return names.container(run.ns(), run.name()) + "." + std::to_string(attempt);
}

std::vector<std::string> run_filters(const DockerNames& names, const std::string& uid) {
  std::vector<std::string> out = names.managed_filters();
  out.push_back(std::string(kLabelUid) + "=" + uid);
  return out;
}

std::vector<std::string> attempt_filters(const DockerNames& names, const std::string& uid,
                                         int number) {
  std::vector<std::string> out = run_filters(names, uid);
  out.push_back(std::string(kLabelAttempt) + "=" + std::to_string(number));
  return out;
}

std::string run_spec_hash(const Object& run) {
  const json::object* spec = run.spec_or_null();
  size_t h = std::hash<std::string>{}(spec ? json::serialize(*spec) : std::string());
  char buf[17];
  snprintf(buf, sizeof buf, "%016zx", h);
  return buf;
}

namespace {

// "a, b" or `none`.
std::string listed(const std::vector<std::string>& names, const std::string& none) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? none : out;
}

// The command line of spec.module's spec.moduleCommand: the command the Module publishes
// (status.commands) followed by spec.args when the run gives any, else by the command's
// default args (as Docker's CMD: given arguments replace the defaults). Invalid naming what
// exists when the Module does not exist, or is Ready and has no such command;
// FailedPrecondition (wait) while the Module is not Ready for its current spec.
Result<std::vector<std::string>> module_command(const Object& run, const json::object* spec,
                                                Reader& reader) {
  const std::string ns(run.ns());
  const std::string module(string_field(spec, "module"));
  const std::string name(string_field(spec, "moduleCommand"));
  auto m = reader.get({"Module", ns, module});
  if (!m.ok()) {
    if (m.status().code() != Code::kNotFound) return m.status();
    auto all = reader.list("Module", ns, LabelSelector());
    if (!all.ok()) return all.status();
    std::vector<std::string> names;
    for (const Object& o : all->items) names.emplace_back(o.name());
    return Status::Invalid("spec.module: Module \"" + module + "\" does not exist in namespace \"" +
                           ns + "\" (its modules: " + listed(names, "none") + ")");
  }
  const json::object* status = m->status_or_null();
  const json::object* commands = object_field(status, "commands");
  if (const json::object* command = object_field(commands, name)) {
    std::vector<std::string> line = string_list_field(*command, "command");
    std::vector<std::string> args = string_list_field(spec, "args");
    if (args.empty()) args = string_list_field(*command, "args");
    for (auto& a : args) line.push_back(std::move(a));
    return line;
  }
  auto ready = get_condition(*m, "Ready");
  bool current = int64_field(status, "observedGeneration").value_or(-1) == m->generation();
  if (!ready || ready->status != kConditionTrue || !current) {
    return Status::FailedPrecondition(
        "waiting for Module \"" + module + "\" to be Ready" +
        (ready && !ready->message.empty() ? " (" + ready->message + ")" : std::string()));
  }
  std::vector<std::string> names;
  if (commands) {
    for (const auto& kv : *commands) names.emplace_back(kv.key());
  }
  return Status::Invalid("spec.moduleCommand: Module \"" + module + "\" has no command \"" + name +
                         "\" (its commands: " + listed(names, "none") + ")");
}

// The id of a running container of Service `svc`: its container, or (swarm) a running task's
// container on this node; FailedPrecondition (wait) when there is none.
Result<std::string> service_container(const Object& svc, bool swarm, docker::DockerClient& docker,
                                      const DockerNames& names) {
  auto waiting = Status::FailedPrecondition("waiting for the container of Service \"" +
                                            std::string(svc.name()) + "\" to run");
  std::vector<std::string> candidates;
  if (!swarm) {
    candidates.push_back(names.container(svc.ns(), svc.name()));
  } else {
    auto services = docker.list_services(names.filters("Service", svc.ns(), svc.name()));
    if (!services.ok()) {
      if (services.status().code() == Code::kFailedPrecondition) return waiting;
      return services.status();
    }
    for (const auto& s : *services) {
      if (label_value(s.labels, kLabelUid) != svc.uid()) continue;
      auto tasks = docker.list_tasks(s.id);
      if (!tasks.ok()) return tasks.status();
      for (const auto& t : *tasks) {
        if (t.state == "running" && !t.container_id.empty()) candidates.push_back(t.container_id);
      }
    }
  }
  for (const std::string& c : candidates) {
    auto info = docker.inspect_container(c);  // NotFound: a task on another node
    if (info.ok() && info->state.running && label_value(info->labels, kLabelUid) == svc.uid()) {
      return info->id;
    }
  }
  return waiting;
}

}  // namespace

Result<CommandRunTarget> resolve_target(const Object& run, Reader& reader,
                                        docker::DockerClient& docker, const DockerNames& names,
                                        const SecretOpener* secrets) {
  const json::object* spec = run.spec_or_null();
  CommandRunTarget t;
  if (!string_field(spec, "module").empty()) {
    auto line = module_command(run, spec, reader);
    if (!line.ok()) return line.status();
    t.command = std::move(line).value();
  } else {
    t.command = string_list_field(spec, "command");
    for (auto& a : string_list_field(spec, "args")) t.command.push_back(std::move(a));
  }
  if (t.command.empty()) return Status::Invalid("spec.command: Required value: nothing to run");

  auto env = reader.get({"Environment", "", std::string(run.ns())});
  if (!env.ok())
    return Status::FailedPrecondition("waiting for Environment \"" + std::string(run.ns()) +
                                      "\": " + env.status().message());
  const json::object* env_spec = env->spec_or_null();
  t.swarm = string_field(env_spec, "runtime") == "swarm";
  auto vars = container_env(run, *env, secrets);
  if (!vars.ok()) return vars.status();
  t.env = std::move(vars).value();
  t.working_dir = string_field(spec, "workingDir");
  if (auto timeout = int64_field(spec, "timeoutSeconds"))
    t.timeout = std::chrono::seconds(*timeout);
  t.stdin = bool_field(spec, "stdin");

  const std::string service(string_field(spec, "service"));
  if (!service.empty()) {
    auto svc = reader.get({"Service", std::string(run.ns()), service});
    if (!svc.ok()) {
      if (svc.status().code() == Code::kNotFound) {
        return Status::NotFound("spec.service: Service \"" + service +
                                "\" does not exist in namespace \"" + std::string(run.ns()) + "\"");
      }
      return svc.status();
    }
    auto container = service_container(*svc, t.swarm, docker, names);
    if (!container.ok()) return container.status();
    t.exec = true;
    t.container = *container;
    return t;
  }
  t.image = string_field(spec, "image");
  if (!t.image.empty()) return t;  // missing: the create fails, naming it
  t.image = string_field(env->status_or_null(), "image");
  if (t.image.empty()) t.image = string_field(env_spec, "baseImage");
  if (t.image.empty()) {
    return Status::FailedPrecondition("waiting for Environment \"" + std::string(run.ns()) +
                                      "\" to build its runtime image");
  }
  // The runtime image may still be building (or pulling): wait for it rather than fail.
  auto image = docker.inspect_image(t.image);
  if (!image.ok()) {
    if (image.status().code() == Code::kNotFound) {
      return Status::FailedPrecondition("waiting for the runtime image " + t.image +
                                        " of Environment \"" + std::string(run.ns()) +
                                        "\" to be built");
    }
    return image.status();
  }
  return t;
}

}  // namespace cenv
