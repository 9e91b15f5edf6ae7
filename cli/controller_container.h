#pragma once
// `cenv controller start --container` / `stop --container`: the controller in the shared image
// (cenv/cenv:<version>, `make image`) on the Docker engine DOCKER_HOST names (else the local
// one), through the `docker` command: the engine's socket mounted, its data in a volume, and
// its API served with mutual TLS on a published port, for clients with a context.

#include <string>

#include "cli/controller_cmd.h"

namespace cenv::cli {

// The image the controller runs in by default: cenv/cenv:<this build's version>.
std::string default_controller_image();

// Starts the controller container (named after $CENV_INSTANCE) from `image`, serving mutual TLS
// on `options.listen` ("HOST:PORT" of the engine's host; port 0: any free) with the
// certificates of `options.certs` (mounted read-only; their data.key seals secrets) and its
// store in the volume of the same name. Prints the address and how to add a context. Returns
// the exit code: 1 with the reason when --listen or --certs is missing, the image is absent or
// Docker refuses.
int controller_start_container(const ControllerRunOptions& options, const std::string& image);
// Removes the controller container (its data volume stays). Returns the exit code.
int controller_stop_container();

}  // namespace cenv::cli
