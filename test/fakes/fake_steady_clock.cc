#include "test/fakes/fake_steady_clock.h"

#include <thread>

namespace cenv {

SteadyClock::TimePoint FakeSteadyClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

size_t FakeSteadyClock::waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void FakeSteadyClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                 TimePoint deadline) const {
  std::list<Waiter>::iterator self;
  {
    std::lock_guard g(mu_);
    if (now_ >= deadline) return;
    self = waiters_.insert(waiters_.end(), Waiter{lock.mutex(), &cv});
  }
  cv.wait(lock);
  std::lock_guard g(mu_);
  waiters_.erase(self);
}

void FakeSteadyClock::advance(Duration d) {
  // Lock order is caller's mutex, then mu_ (wait_until). advance() holds mu_ and so may only
  // try the waiters' mutexes: a waiter whose mutex is busy is either about to wait (it holds
  // its mutex from the deadline check until cv.wait releases it) or about to unregister, so
  // release mu_, let it move on, and try again. Holding a waiter's mutex while notifying
  // means the notification cannot fall between its check and its wait.
  std::unique_lock g(mu_);
  now_ += d;
  std::list<const Waiter*> pending;
  for (const Waiter& w : waiters_) pending.push_back(&w);
  while (!pending.empty()) {
    for (auto it = pending.begin(); it != pending.end();) {
      bool still_registered = false;
      for (const Waiter& w : waiters_) still_registered |= (&w == *it);
      if (!still_registered) {
        it = pending.erase(it);
        continue;
      }
      if ((*it)->mu->try_lock()) {
        (*it)->cv->notify_all();
        (*it)->mu->unlock();
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    if (!pending.empty()) {
      g.unlock();
      std::this_thread::yield();
      g.lock();
    }
  }
}

}  // namespace cenv
