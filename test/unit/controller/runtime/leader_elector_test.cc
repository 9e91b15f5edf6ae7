// LeaderElector on an in-memory lease store and a fake clock: one leader at a time, a leader
// that cannot renew steps down before its lease can expire for the others, a frozen leader fails
// the fence at once, and a stopped leader hands over without waiting for the lease to expire.

#include "controller/runtime/leader_elector.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "test/fakes/fake_steady_clock.h"

namespace cenv {
namespace {

using namespace std::chrono_literals;

// A LeaseStore in memory, its time the fake clock's (as PostgreSQL's clock for the real one).
// fail: every call is Unavailable (the store unreachable); hold: every call blocks until
// released (a store that stopped answering, or this process frozen mid-call).
class MemoryLeases final : public LeaseStore {
 public:
  explicit MemoryLeases(const SteadyClock& clock) : clock_(clock) {}

  Result<LeaseRecord> try_acquire(const std::string& name, const std::string& holder,
                                  std::chrono::milliseconds duration, Deadline) override {
    std::unique_lock lock(mu_);
    CENV_RETURN_IF_ERROR(gate(lock));
    Lease& l = leases_[name];
    if (l.holder.empty() || l.holder == holder || clock_.now() >= l.renewed + l.duration) {
      l.holder = holder;
      ++l.generation;
      ++l.transitions;
      l.renewed = clock_.now();
      l.duration = duration;
    }
    return record(l);
  }
  Result<bool> renew(const std::string& name, const std::string& holder, int64_t generation,
                     std::chrono::milliseconds duration, Deadline) override {
    std::unique_lock lock(mu_);
    CENV_RETURN_IF_ERROR(gate(lock));
    Lease& l = leases_[name];
    if (l.holder != holder || l.generation != generation) return false;
    l.renewed = clock_.now();
    l.duration = duration;
    return true;
  }
  Status release(const std::string& name, const std::string& holder, int64_t generation,
                 Deadline) override {
    std::unique_lock lock(mu_);
    CENV_RETURN_IF_ERROR(gate(lock));
    Lease& l = leases_[name];
    if (l.holder == holder && l.generation == generation) l.holder.clear();
    return Status::Ok();
  }
  Result<std::optional<LeaseRecord>> read(const std::string& name, Deadline) override {
    std::unique_lock lock(mu_);
    auto it = leases_.find(name);
    if (it == leases_.end()) return std::optional<LeaseRecord>();
    return std::optional<LeaseRecord>(record(it->second));
  }

  void set_fail(bool v) {
    std::lock_guard lock(mu_);
    fail_ = v;
  }
  void set_hold(bool v) {
    {
      std::lock_guard lock(mu_);
      hold_ = v;
    }
    cv_.notify_all();
  }
  int held_calls() {
    std::lock_guard lock(mu_);
    return held_;
  }
  std::string holder(const std::string& name) {
    std::lock_guard lock(mu_);
    return leases_[name].holder;
  }

 private:
  struct Lease {
    std::string holder;
    int64_t generation = 0;
    int64_t transitions = 0;
    SteadyClock::TimePoint renewed{};
    std::chrono::milliseconds duration{0};
  };
  Status gate(std::unique_lock<std::mutex>& lock) {
    ++held_;
    cv_.wait(lock, [this] { return !hold_; });
    --held_;
    if (fail_) return Status::Unavailable("lease store unreachable");
    return Status::Ok();
  }
  LeaseRecord record(const Lease& l) const {
    LeaseRecord r;
    r.holder = l.holder;
    r.generation = l.generation;
    r.transitions = l.transitions;
    r.since_renewal =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - l.renewed);
    r.duration = l.duration;
    return r;
  }
  const SteadyClock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Lease> leases_;
  bool fail_ = false;
  bool hold_ = false;
  int held_ = 0;
};

// What the callbacks saw.
struct Terms {
  std::mutex mu;
  std::vector<int64_t> started;
  int stopped = 0;
  bool running() {
    std::lock_guard lock(mu);
    return started.size() > static_cast<size_t>(stopped);
  }
};

LeaderElectionOptions options(const std::string& id) {
  LeaderElectionOptions o;
  o.identity = id;
  o.lease_duration = 15s;
  o.renew_deadline = 10s;
  o.retry_period = 2s;
  return o;
}

// Waits (real time, up to 5 s) for `pred`.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

void start(LeaderElector& e, Terms& t) {
  e.start(
      [&t](int64_t g) {
        std::lock_guard lock(t.mu);
        t.started.push_back(g);
      },
      [&t] {
        std::lock_guard lock(t.mu);
        ++t.stopped;
      });
}

// Advances the clock in retry-period steps, letting the electors act between steps.
void step(FakeSteadyClock& clock, std::chrono::milliseconds total) {
  for (auto done = 0ms; done < total; done += 500ms) {
    clock.advance(500ms);
    std::this_thread::sleep_for(5ms);
  }
}

TEST_CASE("options outside 0 < retry < renew deadline < lease are refused", "[leader]") {
  auto o = options("a");
  CHECK(o.validate().ok());
  o.renew_deadline = 15s;
  CHECK(o.validate().code() == Code::kInvalid);
  o = options("a");
  o.retry_period = 0ms;
  CHECK(o.validate().code() == Code::kInvalid);
  o = options("");
  CHECK(o.validate().code() == Code::kInvalid);
  CHECK(LeaderElectionOptions::default_identity().find(':') != std::string::npos);
}

TEST_CASE("one of two replicas leads, and the fence passes only its own generation", "[leader]") {
  FakeSteadyClock clock;
  MemoryLeases leases(clock);
  LeaderElector a(leases, clock, options("a")), b(leases, clock, options("b"));
  Terms ta, tb;
  start(a, ta);
  REQUIRE(eventually([&] { return ta.running(); }));
  start(b, tb);
  step(clock, 6s);  // b tries three times
  CHECK_FALSE(tb.running());
  CHECK(a.leadership().leading);
  CHECK_FALSE(b.leadership().leading);
  CHECK(b.leadership().leader == "a");
  const int64_t g = ta.started.at(0);
  CHECK(a.check(g).ok());
  CHECK(a.check(g + 1).code() == Code::kFailedPrecondition);
  CHECK(b.check(g).code() == Code::kFailedPrecondition);
  b.stop();
  a.stop();
}

TEST_CASE("a leader that cannot renew steps down before its lease expires, then another leads",
          "[leader]") {
  FakeSteadyClock clock;
  MemoryLeases leases(clock);
  LeaderElector a(leases, clock, options("a"));
  Terms ta;
  start(a, ta);
  REQUIRE(eventually([&] { return ta.running(); }));
  const int64_t g = ta.started.at(0);
  leases.set_fail(true);  // the store out of reach
  step(clock, 9s);
  CHECK(a.check(g).ok());  // still within the renew deadline
  step(clock, 2s);         // past it: 11 s after the last renewal
  CHECK(a.check(g).code() == Code::kFailedPrecondition);
  CHECK(eventually([&] { return !ta.running(); }));
  CHECK(ta.stopped == 1);
  // The lease itself lasts 15 s from a's last renewal: b, which tries from now on, must not take
  // it before; a, which still holds it in the store, takes it again as a new generation.
  LeaderElector b(leases, clock, options("b"));
  Terms tb;
  start(b, tb);
  leases.set_fail(false);
  step(clock, 3s);  // 14 s after a's last renewal
  REQUIRE(eventually([&] { return ta.running(); }));
  CHECK(ta.started == std::vector<int64_t>{g, g + 1});
  CHECK_FALSE(tb.running());
  a.stop();  // releases: b takes over at its next try
  step(clock, 2s);
  REQUIRE(eventually([&] { return tb.running(); }));
  CHECK(tb.started == std::vector<int64_t>{g + 2});
  b.stop();
}

TEST_CASE("a frozen leader fails the fence the moment it wakes, before its elector notices",
          "[leader]") {
  FakeSteadyClock clock;
  MemoryLeases leases(clock);
  LeaderElector a(leases, clock, options("a"));
  Terms ta;
  start(a, ta);
  REQUIRE(eventually([&] { return ta.running(); }));
  const int64_t g = ta.started.at(0);
  CHECK(a.check(g).ok());
  // Its renewals hang (as for a process stopped mid-call), and time passes beyond the lease.
  leases.set_hold(true);
  step(clock, 2s);
  REQUIRE(eventually([&] { return leases.held_calls() == 1; }));
  clock.advance(20s);
  // The elector thread is still stuck in its renewal; the fence already refuses.
  CHECK(leases.held_calls() == 1);
  CHECK(a.check(g).code() == Code::kFailedPrecondition);
  CHECK_FALSE(a.leadership().leading);
  leases.set_hold(false);
  a.stop();
}

TEST_CASE("stopping the leader ends its term and hands the lease over at once", "[leader]") {
  FakeSteadyClock clock;
  MemoryLeases leases(clock);
  LeaderElector a(leases, clock, options("a")), b(leases, clock, options("b"));
  Terms ta, tb;
  start(a, ta);
  REQUIRE(eventually([&] { return ta.running(); }));
  start(b, tb);
  a.stop();
  CHECK(ta.stopped == 1);
  CHECK(leases.holder("cenv-controller").empty());
  step(clock, 2s);  // one retry period, not a whole lease
  REQUIRE(eventually([&] { return tb.running(); }));
  CHECK(tb.started.at(0) == ta.started.at(0) + 1);
  b.stop();
}

}  // namespace
}  // namespace cenv
