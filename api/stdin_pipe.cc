#include "api/stdin_pipe.h"

#include <utility>

namespace cenv {

bool StdinPipe::write(std::string_view bytes, std::chrono::milliseconds wait) {
  {
    std::unique_lock lock(mu_);
    if (!taken_.wait_for(lock, wait, [&] {
          return closed_ || pending_.empty() ||
                 pending_.size() + bytes.size() <= kMaxPendingStdinBytes;
        })) {
      return false;
    }
    if (closed_) return true;
    pending_.append(bytes);
  }
  notify();
  return true;
}

void StdinPipe::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  taken_.notify_all();
  notify();
}

bool StdinPipe::take(std::string* out) {
  bool closed;
  {
    std::lock_guard lock(mu_);
    out->append(pending_);
    pending_.clear();
    closed = closed_;
  }
  taken_.notify_all();
  return closed;
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
