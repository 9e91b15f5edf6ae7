#include "reconcilers/docker_names.h"

#include <cstdlib>

namespace cenv {

DockerNames::DockerNames(std::string instance, docker::Labels extra_labels)
    : instance_(instance.empty() ? std::string("default") : std::move(instance)),
      extra_labels_(std::move(extra_labels)) {}

Status DockerNames::validate_instance(std::string_view instance) {
  if (instance.empty()) return Status::Ok();
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = instance.size() <= 40 && alnum(instance.front()) && alnum(instance.back());
  for (char c : instance) ok = ok && (alnum(c) || c == '-');
  if (ok) return Status::Ok();
  return Status::Invalid("CENV_INSTANCE: \"" + std::string(instance) +
                         "\" is not a valid instance name (1-40 of a-z, 0-9 and '-', "
                         "starting and ending with a letter or digit)");
}

Result<DockerNames> DockerNames::from_environment() {
  const char* instance = std::getenv("CENV_INSTANCE");
  std::string_view name = instance ? instance : "";
  if (Status s = validate_instance(name); !s.ok()) return s;
  docker::Labels extra;
  const char* labels = std::getenv("CENV_CONTAINER_LABELS");
  std::string_view rest = labels ? labels : "";
  while (!rest.empty()) {
    std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    extra[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return DockerNames(std::string(name), std::move(extra));
}

std::string DockerNames::prefix() const {
  return instance_ == "default" ? std::string("cenv-") : "cenv." + instance_ + "-";
}

std::string DockerNames::container(std::string_view ns, std::string_view name) const {
  return prefix() + std::string(ns) + "-" + std::string(name);
}

std::string DockerNames::network(std::string_view environment) const {
  return prefix() + std::string(environment);
}

std::string DockerNames::volume(std::string_view ns, std::string_view service,
                                std::string_view volume) const {
  return prefix() + std::string(ns) + "-" + std::string(service) + "-" + std::string(volume);
}

docker::Labels DockerNames::labels(std::string_view kind, std::string_view ns,
                                   std::string_view name, std::string_view uid) const {
  docker::Labels out = extra_labels_;
  out[std::string(kLabelManaged)] = "true";
  out[std::string(kLabelInstance)] = instance_;
  out[std::string(kLabelKind)] = std::string(kind);
  out[std::string(kLabelNamespace)] = std::string(ns);
  out[std::string(kLabelName)] = std::string(name);
  out[std::string(kLabelUid)] = std::string(uid);
  return out;
}

std::vector<std::string> DockerNames::filters(std::string_view kind, std::string_view ns,
                                              std::string_view name) const {
  std::vector<std::string> out = managed_filters();
  out.push_back(std::string(kLabelKind) + "=" + std::string(kind));
  out.push_back(std::string(kLabelNamespace) + "=" + std::string(ns));
  out.push_back(std::string(kLabelName) + "=" + std::string(name));
  return out;
}

std::vector<std::string> DockerNames::managed_filters() const {
  return {std::string(kLabelManaged) + "=true", std::string(kLabelInstance) + "=" + instance_};
}

bool DockerNames::owns(const docker::Labels& labels) const {
  return label_value(labels, kLabelManaged) == "true" &&
         label_value(labels, kLabelInstance) == instance_;
}

std::string label_value(const docker::Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace cenv
