#pragma once
// The Logs call's source of Service output: the Service's container in Docker, named and
// checked (its io.cenv.uid label) as the Service reconciler made it, streamed with
// `docker logs` semantics. Wired into LogsService by the composition root.

#include "controller/server/logs_service.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"

namespace cenv {

// Reads containers through `docker` (must outlive the returned function) under `names`.
ServiceLogSource docker_service_logs(DockerConnection& docker, DockerNames names);

}  // namespace cenv
