#include "controller/store/log_hub.h"

namespace cenv {

LogHub::LogHub(Store& store, metrics::Registry* metrics) : store_(store) {
  if (metrics != nullptr) {
    bytes_ =
        &metrics
             ->counter("cenv_log_bytes_total", "Bytes of CommandRun output stored (both streams).")
             .with({});
  }
}

Result<int64_t> LogHub::append(const std::string& uid, std::span<const LogPiece> pieces) {
  auto r = store_.append_log(uid, split_log_pieces(pieces));
  if (!r.ok()) return r;
  if (bytes_ != nullptr) {
    uint64_t n = 0;
    for (const LogPiece& p : pieces) n += p.data.size();
    bytes_->inc(n);
  }
  notify(uid);
  return r;
}

void LogHub::notify(const std::string& uid) {
  {
    std::lock_guard lock(mu_);
    ++generations_[uid];
  }
  changed_.notify_all();
}

uint64_t LogHub::generation(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = generations_.find(uid);
  return it == generations_.end() ? 0 : it->second;
}

uint64_t LogHub::wait(const std::string& uid, uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto current = [&] {
    auto it = generations_.find(uid);
    return it == generations_.end() ? uint64_t{0} : it->second;
  };
  changed_.wait_for(lock, timeout, [&] { return current() != seen; });
  return current();
}

std::shared_ptr<StdinPipe> LogHub::stdin_pipe(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto& pipe = stdin_[uid];
  if (!pipe) pipe = std::make_shared<StdinPipe>();
  return pipe;
}

void LogHub::release(const std::string& uid) {
  std::lock_guard lock(mu_);
  stdin_.erase(uid);
  // The run is over: its readers re-check it on the next notify, and no writer bumps the
  // counter again, so the entry can go too (a waiter holding `seen` wakes on its timeout).
  generations_.erase(uid);
}

}  // namespace cenv
