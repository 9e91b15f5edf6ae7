#include "reconcilers/service_reasons.h"

namespace cenv {

const char* service_failure_reason(const Status& s) {
  switch (s.code()) {
    case Code::kUnavailable:
      return "DockerUnavailable";
    case Code::kNotFound:
      return s.message().find("network") != std::string::npos ? "NetworkNotFound" : "ImageNotFound";
    case Code::kFailedPrecondition:
      return s.message().find("docker swarm init") != std::string::npos ? "SwarmNotInitialised"
                                                                        : "ImagePullFailed";
    case Code::kUnauthenticated:
      return "RegistryUnauthorized";
    case Code::kAlreadyExists:
      return "NameConflict";
    default:
      break;
  }
  const std::string& m = s.message();
  if (m.find("port is already allocated") != std::string::npos ||
      m.find("address already in use") != std::string::npos) {
    return "PortInUse";
  }
  if (m.find("executable file not found") != std::string::npos ||
      m.find("no such file or directory") != std::string::npos) {
    return "BadCommand";
  }
  return "StartFailed";
}

std::string exit_text(int code) {
  std::string text = "container exited with code " + std::to_string(code);
  switch (code) {
    case 126:
      return text + " (the command is not executable: check spec.command and spec.args)";
    case 127:
      return text + " (command not found: check spec.command and spec.args)";
    case 137:
      return text + " (killed)";
    case 143:
      return text + " (terminated)";
    default:
      return text;
  }
}

}  // namespace cenv
