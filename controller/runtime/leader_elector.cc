#include "controller/runtime/leader_elector.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

namespace cenv {

Status LeaderElectionOptions::validate() const {
  auto s = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  if (retry_period.count() <= 0 || renew_deadline <= retry_period ||
      lease_duration <= renew_deadline) {
    return Status::Invalid("leader election needs 0 < retry period (" + s(retry_period) +
                           ") < renew deadline (" + s(renew_deadline) + ") < lease duration (" +
                           s(lease_duration) + ")");
  }
  if (identity.empty()) return Status::Invalid("leader election needs an identity");
  return Status::Ok();
}

std::string LeaderElectionOptions::default_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (int i = 0; i < 8; ++i) tag.push_back(kHex[rd() % 16]);
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid()) + ":" + tag;
}

LeaderElector::LeaderElector(LeaseStore& leases, const SteadyClock& clock,
                             LeaderElectionOptions options, metrics::Registry* metrics)
    : leases_(leases), clock_(clock), options_(std::move(options)) {
  if (metrics != nullptr) {
    leader_gauge_ =
        &metrics
             ->gauge("cenv_leader", "1 while this controller replica leads (runs the reconcilers).")
             .with(std::vector<std::string>{});
    transitions_counter_ =
        &metrics
             ->counter("cenv_leader_transitions_total",
                       "Times this controller replica started or stopped leading.")
             .with(std::vector<std::string>{});
  }
}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start(StartedLeading on_started, StoppedLeading on_stopped) {
  lease_thread_ = std::jthread([this](std::stop_token stop) { lease_loop(std::move(stop)); });
  callback_thread_ =
      std::jthread([this, a = std::move(on_started), b = std::move(on_stopped)](
                       std::stop_token stop) mutable { callback_loop(std::move(stop), a, b); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Each wait re-checks its stop token under mu_: taking mu_ after the request means the
  // thread is either not yet checking or already waiting, so the notification is not lost.
  auto wake = [this](std::jthread& t) {
    t.request_stop();
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  };
  if (lease_thread_.joinable()) {
    wake(lease_thread_);
    lease_thread_.join();
  }
  // The term ends (its work stops) before the lease goes to another replica.
  int64_t released = 0;
  {
    std::lock_guard lock(mu_);
    if (leading_) released = generation_;
    set_leading_locked(false, 0);
  }
  cv_.notify_all();
  if (callback_thread_.joinable()) {
    wake(callback_thread_);
    callback_thread_.join();
  }
  if (released > 0) {
    Status s = leases_.release(options_.lease_name, options_.identity, released,
                               std::chrono::steady_clock::now() + options_.retry_period);
    if (!s.ok()) spdlog::warn("leader election: could not release the lease: {}", s.message());
  }
}

Status LeaderElector::check(int64_t generation) const {
  std::lock_guard lock(mu_);
  if (leading_ && generation_ == generation && clock_.now() < valid_until_) return Status::Ok();
  return Status::FailedPrecondition("not the leader: this controller no longer holds generation " +
                                    std::to_string(generation) + " of lease " +
                                    options_.lease_name + " (no Docker change is made)");
}

Leadership LeaderElector::leadership() const {
  std::lock_guard lock(mu_);
  return {leading_ && clock_.now() < valid_until_, leading_ ? generation_ : 0, leader_,
          transitions_};
}

void LeaderElector::set_leading_locked(bool leading, int64_t generation) {
  if (leading == leading_ && generation == generation_) return;
  if (leading != leading_) {
    ++transitions_;
    if (transitions_counter_) transitions_counter_->inc();
  }
  leading_ = leading;
  generation_ = generation;
  if (leader_gauge_) leader_gauge_->set(leading ? 1 : 0);
  cv_.notify_all();
}

void LeaderElector::tick() {
  const auto sent = clock_.now();
  // A try never outlasts the retry period, nor a leader's validity.
  auto deadline = std::chrono::steady_clock::now() + options_.retry_period;
  bool leading;
  int64_t generation;
  {
    std::lock_guard lock(mu_);
    leading = leading_;
    generation = generation_;
  }
  if (leading) {
    auto renewed = leases_.renew(options_.lease_name, options_.identity, generation,
                                 options_.lease_duration, deadline);
    std::lock_guard lock(mu_);
    if (renewed.ok() && *renewed) {
      valid_until_ = sent + options_.renew_deadline;
      return;
    }
    if (renewed.ok()) {
      spdlog::warn("leader election: lease {} was taken by another replica; stepping down",
                   options_.lease_name);
      set_leading_locked(false, 0);
    } else if (clock_.now() >= valid_until_) {
      spdlog::warn("leader election: could not renew lease {} within {} ms ({}); stepping down",
                   options_.lease_name, options_.renew_deadline.count(),
                   renewed.status().message());
      set_leading_locked(false, 0);
    } else {
      spdlog::info("leader election: renewing lease {} failed ({}); retrying", options_.lease_name,
                   renewed.status().message());
    }
    return;
  }
  auto lease = leases_.try_acquire(options_.lease_name, options_.identity, options_.lease_duration,
                                   deadline);
  std::lock_guard lock(mu_);
  if (!lease.ok()) {
    spdlog::debug("leader election: {}", lease.status().message());
    return;
  }
  leader_ = lease->expired() ? "" : lease->holder;
  if (lease->holder == options_.identity && clock_.now() < sent + options_.renew_deadline) {
    valid_until_ = sent + options_.renew_deadline;
    spdlog::info("leader election: {} leads (lease {} generation {})", options_.identity,
                 options_.lease_name, lease->generation);
    set_leading_locked(true, lease->generation);
  }
}

void LeaderElector::lease_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    tick();
    std::unique_lock lock(mu_);
    SteadyClock::TimePoint next = clock_.now() + options_.retry_period;
    // A leader whose renewals keep failing steps down right at its deadline.
    if (leading_ && valid_until_ < next) next = valid_until_;
    while (!stop.stop_requested() && clock_.now() < next) clock_.wait_until(lock, cv_, next);
    if (leading_ && clock_.now() >= valid_until_) {
      spdlog::warn("leader election: lease {} not renewed within {} ms; stepping down",
                   options_.lease_name, options_.renew_deadline.count());
      set_leading_locked(false, 0);
    }
  }
}

void LeaderElector::callback_loop(std::stop_token stop, StartedLeading on_started,
                                  StoppedLeading on_stopped) {
  std::unique_lock lock(mu_);
  for (;;) {
    const int64_t wanted = leading_ ? generation_ : 0;
    if (wanted == running_term_) {
      if (stop.stop_requested()) return;
      cv_.wait(lock);
      continue;
    }
    if (running_term_ != 0) {
      running_term_ = 0;
      lock.unlock();
      on_stopped();
      lock.lock();
      continue;
    }
    running_term_ = wanted;
    lock.unlock();
    on_started(wanted);
    lock.lock();
  }
}

}  // namespace cenv
