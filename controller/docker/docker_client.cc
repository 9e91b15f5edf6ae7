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

}  // namespace cenv::docker
