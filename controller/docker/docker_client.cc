#include "controller/docker/docker_client.h"

#include <utility>

namespace cenv::docker {

const char* stream_kind_name(StreamKind kind) {
  return kind == StreamKind::kStderr ? "stderr" : "stdout";
}

std::pair<std::string, std::string> split_image_ref(std::string_view ref) {
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    return {std::string(ref.substr(0, at)), std::string(ref.substr(at + 1))};
  }
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    return {std::string(ref.substr(0, colon)), std::string(ref.substr(colon + 1))};
  }
  return {std::string(ref), "latest"};
}

std::string image_registry(std::string_view ref) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos) return "docker.io";
  std::string_view first = ref.substr(0, slash);
  if (first.find_first_of(".:") == std::string_view::npos && first != "localhost") {
    return "docker.io";
  }
  return std::string(first);
}

}  // namespace cenv::docker
