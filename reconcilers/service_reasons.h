#pragma once
// The words a Service's Ready condition uses for what went wrong with its workload
// (service_reconciler.h).

#include <string>

#include "api/status.h"

namespace cenv {

// The reason for a failure `s` of the runtime: DockerUnavailable, ImageNotFound,
// NetworkNotFound, SwarmNotInitialised, ImagePullFailed, RegistryUnauthorized, NameConflict,
// PortInUse, BadCommand, else StartFailed.
const char* service_failure_reason(const Status& s);
// "container exited with code N", with what the code usually means (126, 127, 137, 143).
std::string exit_text(int code);

}  // namespace cenv
