#include "controller/runtime/manager.h"

#include <spdlog/spdlog.h>

namespace cenv {

Manager::Manager(EventSource& source, const SteadyClock& clock, ManagerOptions options)
    : clock_(clock), options_(options), cache_(source, clock, options.informers) {}

Manager::~Manager() { stop(); }

void Manager::add_runnable(std::unique_ptr<Runnable> runnable) {
  std::lock_guard lock(mu_);
  Runnable& r = *runnable;
  runnables_.push_back(std::move(runnable));
  if (started_ && !stopped_) run_locked(r);
}

void Manager::run_locked(Runnable& runnable) {
  threads_.emplace_back([&runnable](std::stop_token stop) { runnable.start(std::move(stop)); });
}

Status Manager::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopped_) {
      return Status::FailedPrecondition("the manager was already started or stopped");
    }
    started_ = true;
  }
  cache_.start();
  if (!cache_.wait_for_sync(stopping_.get_token(), options_.sync_timeout)) {
    if (stopping_.stop_requested()) {
      return Status::Unavailable("the manager was stopped while its informers were syncing");
    }
    std::string waiting;
    for (Informer* inf : cache_.informers()) {
      if (inf->has_synced()) continue;
      waiting += (waiting.empty() ? "" : ", ") + inf->kind();
    }
    return Status::Unavailable("informers did not sync within " +
                               std::to_string(options_.sync_timeout.count()) + " ms: " + waiting);
  }
  std::lock_guard lock(mu_);
  if (stopped_) return Status::Unavailable("the manager was stopped while starting");
  for (auto& r : runnables_) run_locked(*r);
  spdlog::debug("manager: {} informers synced, {} runnables started", cache_.informers().size(),
                runnables_.size());
  return Status::Ok();
}

void Manager::stop() {
  std::vector<std::jthread> threads;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    threads.swap(threads_);
  }
  stopping_.request_stop();
  for (auto& t : threads) t.request_stop();
  threads.clear();  // joins
  cache_.stop();
}

}  // namespace cenv
