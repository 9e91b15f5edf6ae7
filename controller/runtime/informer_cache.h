#pragma once
// InformerCache: the shared informers of one manager, one per kind, so that every controller
// and the garbage collector watching a kind share one list, one watch and one cache (as
// controller-runtime's cache does). Thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "controller/runtime/event_source.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/steady_clock.h"

namespace cenv {

class InformerCache {
 public:
  // `source` and `clock` must outlive the cache. Every informer gets `options`.
  InformerCache(EventSource& source, const SteadyClock& clock, InformerOptions options = {});
  ~InformerCache();  // stops every informer
  InformerCache(const InformerCache&) = delete;
  InformerCache& operator=(const InformerCache&) = delete;

  // The informer of `kind` ("Service"), created on first use; started at once when the cache
  // is started. The reference stays valid for the cache's life.
  Informer& informer(std::string_view kind);
  // The informer of `kind` if one exists, else nullptr.
  Informer* find(std::string_view kind);
  // Every informer, in kind order.
  std::vector<Informer*> informers();

  // Starts every informer (and those created later). Idempotent.
  void start();
  // Waits (real time) until every informer has synced, `stop` is requested or `timeout`
  // passes; returns whether all synced.
  bool wait_for_sync(const std::stop_token& stop, std::chrono::milliseconds timeout);
  // Stops every informer (joining their threads). Idempotent.
  void stop();

 private:
  EventSource& source_;
  const SteadyClock& clock_;
  const InformerOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Informer>, std::less<>> informers_;  // guarded by mu_
  bool started_ = false;                                                     // guarded by mu_
};

}  // namespace cenv
