#include "controller/runtime/informer_cache.h"

namespace cenv {

InformerCache::InformerCache(EventSource& source, const SteadyClock& clock, InformerOptions options)
    : source_(source), clock_(clock), options_(options) {}

InformerCache::~InformerCache() { stop(); }

Informer& InformerCache::informer(std::string_view kind) {
  std::lock_guard lock(mu_);
  auto it = informers_.find(kind);
  if (it == informers_.end()) {
    it = informers_
             .emplace(std::string(kind),
                      std::make_unique<Informer>(std::string(kind), source_, clock_, options_))
             .first;
    if (started_) it->second->start();
  }
  return *it->second;
}

Informer* InformerCache::find(std::string_view kind) {
  std::lock_guard lock(mu_);
  auto it = informers_.find(kind);
  return it == informers_.end() ? nullptr : it->second.get();
}

std::vector<Informer*> InformerCache::informers() {
  std::lock_guard lock(mu_);
  std::vector<Informer*> out;
  for (auto& [kind, inf] : informers_) out.push_back(inf.get());
  return out;
}

void InformerCache::start() {
  std::lock_guard lock(mu_);
  started_ = true;
  for (auto& [kind, inf] : informers_) inf->start();
}

bool InformerCache::wait_for_sync(const std::stop_token& stop, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (Informer* inf : informers()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!inf->wait_for_sync(stop, std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

void InformerCache::stop() {
  {
    std::lock_guard lock(mu_);
    started_ = false;
  }
  // Informers are never removed, so the pointers outlive the lock.
  std::vector<Informer*> all = informers();
  for (Informer* inf : all) inf->request_stop();
  for (Informer* inf : all) inf->stop();
}

}  // namespace cenv
