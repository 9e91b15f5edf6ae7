#pragma once
// Names and labels of what cenv creates in Docker (DESIGN section 6): container
// cenv-<namespace>-<name>, network cenv-<environment>, volume cenv-<namespace>-<service>-<volume>,
// and the io.cenv.* labels that let the controller find (adopt) them after a restart and never
// touch anything it did not create.
//
// Several controllers can share one Docker host (two users, or parallel test runs): each is an
// *instance*, named by $CENV_INSTANCE. Everything a controller creates carries
// io.cenv.instance=<instance> ("default" when unnamed), it only ever lists and adopts what
// carries its own instance, and a named instance prefixes its Docker names with
// "cenv.<instance>-" instead of "cenv-" (a namespace cannot contain '.', so the names of two
// instances never collide). Immutable after construction; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv {

inline constexpr std::string_view kLabelManaged = "io.cenv.managed";
inline constexpr std::string_view kLabelInstance = "io.cenv.instance";
inline constexpr std::string_view kLabelUid = "io.cenv.uid";
inline constexpr std::string_view kLabelKind = "io.cenv.kind";
inline constexpr std::string_view kLabelNamespace = "io.cenv.namespace";
inline constexpr std::string_view kLabelName = "io.cenv.name";
inline constexpr std::string_view kLabelSpecHash = "io.cenv.spec-hash";
// On volumes: the Service volume name they hold (spec.volumes[].name).
inline constexpr std::string_view kLabelVolume = "io.cenv.volume";

class DockerNames {
 public:
  // The default instance, no extra labels.
  DockerNames() = default;
  // `instance` empty: the default instance. `extra_labels` go on everything created (tests
  // label theirs with their run id); they are not used to select.
  explicit DockerNames(std::string instance, docker::Labels extra_labels = {});

  // From $CENV_INSTANCE and $CENV_CONTAINER_LABELS ("k=v,k2=v2"; entries without '=' are
  // ignored). An invalid $CENV_INSTANCE is Invalid, naming it.
  static Result<DockerNames> from_environment();
  // OK when `instance` is "" or 1-40 of [a-z0-9-], starting and ending alphanumeric.
  static Status validate_instance(std::string_view instance);

  // "cenv-<namespace>-<name>" ("cenv.<instance>-<namespace>-<name>" for a named instance).
  std::string container(std::string_view ns, std::string_view name) const;
  // "cenv-<environment>".
  std::string network(std::string_view environment) const;
  // "cenv-<namespace>-<service>-<volume>".
  std::string volume(std::string_view ns, std::string_view service, std::string_view volume) const;

  // The labels of something created for the API object kind/ns/name/uid: the extra labels,
  // io.cenv.managed=true, io.cenv.instance and the four owner labels (ns empty for
  // cluster-scoped owners).
  docker::Labels labels(std::string_view kind, std::string_view ns, std::string_view name,
                        std::string_view uid) const;
  // Docker label filters ("key=value") selecting what this instance created for
  // kind/ns/name, any uid.
  std::vector<std::string> filters(std::string_view kind, std::string_view ns,
                                   std::string_view name) const;
  // Docker label filters selecting everything this instance created.
  std::vector<std::string> managed_filters() const;
  // True when `labels` say this instance created the object.
  bool owns(const docker::Labels& labels) const;

  // "default" for the default instance.
  const std::string& instance() const { return instance_; }
  const docker::Labels& extra_labels() const { return extra_labels_; }

 private:
  std::string prefix() const;

  std::string instance_ = "default";
  docker::Labels extra_labels_;
};

// The value of `key` in `labels`, or "" when absent.
std::string label_value(const docker::Labels& labels, std::string_view key);

}  // namespace cenv
