#include "reconcilers/docker_names.h"

namespace cenv {

std::string container_name(std::string_view ns, std::string_view name) {
  return "cenv-" + std::string(ns) + "-" + std::string(name);
}

std::string default_network_name(std::string_view environment) {
  return "cenv-" + std::string(environment);
}

std::string volume_name(std::string_view ns, std::string_view service, std::string_view volume) {
  return "cenv-" + std::string(ns) + "-" + std::string(service) + "-" + std::string(volume);
}

docker::Labels owner_labels(std::string_view kind, std::string_view ns, std::string_view name,
                            std::string_view uid) {
  return {{std::string(kLabelManaged), "true"},
          {std::string(kLabelKind), std::string(kind)},
          {std::string(kLabelNamespace), std::string(ns)},
          {std::string(kLabelName), std::string(name)},
          {std::string(kLabelUid), std::string(uid)}};
}

std::vector<std::string> owner_label_filters(std::string_view kind, std::string_view ns,
                                             std::string_view name) {
  return {std::string(kLabelManaged) + "=true", std::string(kLabelKind) + "=" + std::string(kind),
          std::string(kLabelNamespace) + "=" + std::string(ns),
          std::string(kLabelName) + "=" + std::string(name)};
}

std::string label_value(const docker::Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace cenv
