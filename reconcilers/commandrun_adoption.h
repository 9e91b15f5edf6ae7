#pragma once
// Adoption of a CommandRun after a controller restart (commandrun.h): a run whose status
// says Running, but which no attempt of this controller follows, is looked up in Docker and
// the store, and one of three things follows: its attempt starts (again), because it never
// ran; its container or exec is followed again; or the attempt's end (or loss) is recorded.

#include <chrono>
#include <functional>
#include <string>

#include "api/environment_secrets.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/client.h"
#include "controller/store/store.h"
#include "reconcilers/commandrun_status.h"
#include "reconcilers/commandrun_target.h"
#include "reconcilers/docker_names.h"

namespace cenv {

// What to do with a Running run that no attempt follows.
struct Adoption {
  enum class Action {
    kStart,   // start attempt `number`: it never ran (no container, nothing stored)
    kFollow,  // follow attempt `number` again: `container_id`, `service_id`, or the exec of
              // `target`
    kRecord,  // attempt `number` ended or is lost: record `outcome`
  };
  Action action = Action::kRecord;
  int number = 0;
  std::string container_id;  // kFollow of a container
  std::string service_id;    // kFollow of a swarm service (swarm_run_attempt.h)
  CommandRunTarget target;   // kFollow
  // kFollow of an exec that still runs: appended to the Ready message before following it
  // (what it prints from now on is lost).
  std::string running_note;
  AttemptOutcome outcome;  // kRecord
};

// Whether /bin/sh runs in the container with this id (an error when that cannot be told).
using ShellProbe = std::function<Result<bool>(const std::string& container)>;

// Decides how to adopt `run`: finds its attempt's swarm service or container by label
// (`names`), or its exec by status.exec.id, and what `store` holds of its output; re-resolves its
// target through `reader` and `secrets` (a container: for its timeout). Fails as Docker or the
// store fail when looking.
Result<Adoption> plan_adoption(const Object& run, Reader& reader, docker::DockerClient& docker,
                               Store& store, const DockerNames& names, const SecretOpener* secrets,
                               const ShellProbe& has_shell,
                               std::chrono::system_clock::time_point now);

}  // namespace cenv
