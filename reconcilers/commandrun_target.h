#pragma once
// Where and how a CommandRun's attempt runs (commandrun.h): the command (spec.command then
// spec.args, or a Module's published command then spec.args, which replace its default args), the
// container environment (container_env.h), working directory, stdin and timeout, and either the
// image of a new container (spec.image, else the Environment's runtime image) or the running
// container of spec.service to exec in. Also the names and label filters of a run's containers.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/environment_secrets.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/client.h"
#include "reconcilers/docker_names.h"

namespace cenv {

// The label carrying the attempt number on a CommandRun's containers.
inline constexpr std::string_view kLabelAttempt = "io.cenv.attempt";

// Where and how an attempt runs, resolved from the run, its Environment and its Service.
struct CommandRunTarget {
  bool exec = false;
  // The Environment's spec.runtime is swarm: a new workload is a one-shot swarm service
  // (swarm_run_attempt.h); an exec goes into a running task's container on this node.
  bool swarm = false;
  std::string container;  // exec: the Service's container id
  std::string image;      // new container: the image
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string working_dir;
  bool stdin = false;
  std::optional<std::chrono::seconds> timeout;
  // exec: the exec (created before the attempt is recorded), whether it runs through the
  // pid-recording wrapper, its pid file, when it was created, and whether it is an exec that
  // ran before a controller restart (no output stream to attach to: watched by inspect).
  std::string exec_id;
  bool exec_wrapped = false;
  std::string pid_file;
  std::chrono::system_clock::time_point exec_started{};
  bool exec_adopted = false;
};

// Resolves where `run` goes, reading its Module, Environment and Service through `reader`
// and the Service's container (on swarm: a running task's container on this node) and the
// runtime image through `docker`. On failure:
// FailedPrecondition (or Unavailable) when it must wait (the Module is not Ready for its
// current spec, the Environment does not exist or has no runtime image yet, the Service's
// container does not run), with what it waits for; NotFound when spec.service names no
// Service; Invalid when nothing is to run, spec.module names no Module (listing the
// namespace's Modules), spec.moduleCommand no command of a Ready Module (listing its
// commands), or a secretEnv a missing secret or one `secrets` cannot open (the field in the
// message); others as Docker or the reader said. The target's env holds plaintext secrets.
Result<CommandRunTarget> resolve_target(const Object& run, Reader& reader,
                                        docker::DockerClient& docker, const DockerNames& names,
                                        const SecretOpener* secrets);

// "cenv-<ns>-<name>.<attempt>": the dot keeps it apart from every Service's container name.
std::string attempt_container_name(const DockerNames& names, const Object& run, int attempt);
// Docker label filters: every container of the run with this uid / of its attempt `number`.
std::vector<std::string> run_filters(const DockerNames& names, const std::string& uid);
std::vector<std::string> attempt_filters(const DockerNames& names, const std::string& uid,
                                         int number);
// A hash of the run's spec, for the label io.cenv.spec-hash of its containers.
std::string run_spec_hash(const Object& run);

}  // namespace cenv
