#include "controller/docker/docker_client.h"

#include <utility>

namespace cenv::docker {

const char* stream_kind_name(StreamKind kind) {
  return kind == StreamKind::kStderr ? "stderr" : "stdout";
}

void StdinPipe::write(std::string_view bytes) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    pending_.append(bytes);
  }
  notify();
}

void StdinPipe::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  notify();
}

bool StdinPipe::take(std::string* out) {
  std::lock_guard lock(mu_);
  out->append(pending_);
  pending_.clear();
  return closed_;
}

void StdinPipe::set_listener(std::function<void()> on_change) {
  bool pending;
  {
    std::lock_guard lock(mu_);
    pending = closed_ || !pending_.empty();
  }
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(on_change);
  if (listener_ && pending) listener_();
}

void StdinPipe::notify() {
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_();
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
