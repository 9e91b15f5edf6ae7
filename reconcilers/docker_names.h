#pragma once
// Names and labels of what cenv creates in Docker (DESIGN section 6): container
// cenv-<namespace>-<name>, network cenv-<environment>, volume cenv-<namespace>-<service>-<volume>,
// and the io.cenv.* labels that let the controller find (adopt) them after a restart and never
// touch anything it did not create. Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "controller/docker/docker_client.h"

namespace cenv {

inline constexpr std::string_view kLabelManaged = "io.cenv.managed";
inline constexpr std::string_view kLabelUid = "io.cenv.uid";
inline constexpr std::string_view kLabelKind = "io.cenv.kind";
inline constexpr std::string_view kLabelNamespace = "io.cenv.namespace";
inline constexpr std::string_view kLabelName = "io.cenv.name";
inline constexpr std::string_view kLabelSpecHash = "io.cenv.spec-hash";
// On volumes: the Service volume name they hold (spec.volumes[].name).
inline constexpr std::string_view kLabelVolume = "io.cenv.volume";

// "cenv-<namespace>-<name>".
std::string container_name(std::string_view ns, std::string_view name);
// "cenv-<environment>".
std::string default_network_name(std::string_view environment);
// "cenv-<namespace>-<service>-<volume>".
std::string volume_name(std::string_view ns, std::string_view service, std::string_view volume);

// The labels of an object cenv creates for the API object kind/ns/name/uid:
// io.cenv.managed=true and the four owner labels (ns empty for cluster-scoped owners).
docker::Labels owner_labels(std::string_view kind, std::string_view ns, std::string_view name,
                            std::string_view uid);
// Docker label filters ("key=value") selecting what cenv created for kind/ns/name, any uid.
std::vector<std::string> owner_label_filters(std::string_view kind, std::string_view ns,
                                             std::string_view name);
// The value of `key` in `labels`, or "" when absent.
std::string label_value(const docker::Labels& labels, std::string_view key);

}  // namespace cenv
