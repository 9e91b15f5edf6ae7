#include "api/stdin_pipe.h"

#include <utility>

namespace cenv {

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

}  // namespace cenv
