#include "reconcilers/health_prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace cenv {

HealthProber::HealthProber(Workloads& workloads, HealthProberOptions options, TcpDialer dialer)
    : workloads_(workloads), options_(options), dialer_(std::move(dialer)) {}

HealthProber::~HealthProber() = default;

void HealthProber::set_on_change(std::function<void(const Request&)> on_change) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(on_change);
}

HealthState HealthProber::observe(const Request& key, const ProbeTarget& target) {
  std::lock_guard lock(mu_);
  auto it = probes_.find(key);
  if (it != probes_.end() && it->second.target == target) return it->second.state;
  Probe p;
  p.target = target;
  p.observed_at = Clock::now();
  p.next_due = p.observed_at;
  p.generation = ++next_generation_;
  probes_[key] = std::move(p);
  cv_.notify_all();
  return {};
}

void HealthProber::forget(const Request& key) {
  std::lock_guard lock(mu_);
  probes_.erase(key);
}

size_t HealthProber::size() const {
  std::lock_guard lock(mu_);
  return probes_.size();
}

void HealthProber::start(std::stop_token stop) {
  std::vector<std::jthread> threads;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    threads.emplace_back([this, stop] { work(stop); });
  }
  wait_for_stop(stop);
  {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  threads.clear();  // joins
}

void HealthProber::work(const std::stop_token& stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    // The probe due first among those not being checked.
    auto due = probes_.end();
    for (auto it = probes_.begin(); it != probes_.end(); ++it) {
      if (it->second.running) continue;
      if (due == probes_.end() || it->second.next_due < due->second.next_due) due = it;
    }
    // Wait for the due time, or for a new target (which may be due sooner).
    uint64_t seen = next_generation_;
    if (due == probes_.end()) {
      cv_.wait(lock, stop, [&] { return next_generation_ != seen; });
      continue;
    }
    if (due->second.next_due > Clock::now()) {
      // A copy: while this waits (unlocked), forget() may erase the probe it came from.
      const Clock::time_point when = due->second.next_due;
      cv_.wait_until(lock, stop, when, [&] { return next_generation_ != seen; });
      continue;
    }
    Request key = due->first;
    Probe& probe = due->second;
    probe.running = true;
    ProbeTarget target = probe.target;
    uint64_t generation = probe.generation;
    lock.unlock();
    Status result = check(target);
    lock.lock();
    auto it = probes_.find(key);
    if (it == probes_.end() || it->second.generation != generation) continue;  // dropped
    Probe& p = it->second;
    p.running = false;
    HealthState before = p.state;
    auto now = Clock::now();
    if (result.ok()) {
      p.state.health = Health::kHealthy;
      p.state.consecutive_failures = 0;
      p.state.message = "health check passed";
      p.ever_healthy = true;
    } else {
      p.state.message = "health check failed: " + result.message();
      bool grace = !p.ever_healthy && now - p.observed_at < p.target.check.start_period;
      if (!grace && ++p.state.consecutive_failures >= p.target.check.retries) {
        p.state.health = Health::kUnhealthy;
      }
    }
    auto interval = p.target.check.interval;
    if (!p.ever_healthy) interval = std::min(interval, options_.start_interval);
    p.next_due = now + interval;
    bool changed = before.health != p.state.health ||
                   (p.state.health != Health::kHealthy && before.message != p.state.message);
    if (changed && on_change_) {
      auto notify = on_change_;
      lock.unlock();
      notify(key);
      lock.lock();
    }
  }
}

Status HealthProber::check(const ProbeTarget& target) {
  const HealthCheckSpec& c = target.check;
  if (!c.exec.empty()) {
    auto code = workloads_.exec(target.workload_id, c.exec, c.timeout);
    if (!code.ok()) return code.status();
    if (code.value() != 0) {
      return Status::Unavailable("command exited with code " + std::to_string(code.value()));
    }
    return Status::Ok();
  }
  if (target.address.empty()) return Status::Unavailable("the container has no address");
  Status s = dialer_(target.address, c.tcp_port, c.timeout);
  if (!s.ok()) {
    return Status(s.code(),
                  "tcp " + target.address + ":" + std::to_string(c.tcp_port) + ": " + s.message());
  }
  return Status::Ok();
}

Status HealthProber::dial_tcp(const std::string& host, uint16_t port,
                              std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Status::Invalid("not an IPv4 address: " + host);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(std::string("socket: ") + std::strerror(errno));
  auto fail = [fd](const std::string& what, int err) {
    close(fd);
    return Status::Unavailable(what + std::strerror(err));
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return fail("", errno);
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, static_cast<int>(timeout.count()));
    if (n == 0) {
      close(fd);
      return Status::Unavailable("timed out after " + std::to_string(timeout.count()) + "ms");
    }
    if (n < 0) return fail("poll: ", errno);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail("", err);
  }
  close(fd);
  return Status::Ok();
}

}  // namespace cenv
