#include "controller/store/postgres_change_feed.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "controller/store/libpq.h"
#include "controller/store/postgres_link.h"
#include "controller/store/postgres_url.h"

namespace cenv {

Result<std::unique_ptr<PostgresChangeFeed>> PostgresChangeFeed::start(
    const std::string& url, std::function<void()> on_change, std::chrono::milliseconds retry) {
  auto lib = LibPq::load();
  if (!lib.ok()) return lib.status();
  auto parsed = parse_connection_url(url);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<PostgresChangeFeed> feed(new PostgresChangeFeed());
  feed->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (feed->wake_fd_ < 0) return Status::Internal("postgres: change feed: eventfd failed");
  feed->thread_ = std::jthread([f = feed.get(), url, target = redacted_url(url),
                                cb = std::move(on_change), retry](std::stop_token stop) mutable {
    f->run(std::move(stop), std::move(url), std::move(target), std::move(cb), retry);
  });
  return feed;
}

PostgresChangeFeed::~PostgresChangeFeed() {
  thread_.request_stop();
  uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof one) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void PostgresChangeFeed::run(std::stop_token stop, std::string url, std::string target,
                             std::function<void()> on_change, std::chrono::milliseconds retry) {
  PostgresLink link(std::move(url), target);
  link.set_on_connect("LISTEN cenv_revision");
  bool warned = false;
  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (!link.connected()) {
      auto r = link.query("SELECT 1", {}, now + std::chrono::seconds(5));
      if (!r.ok()) {
        if (!warned) spdlog::warn("change feed: {}; retrying", r.status().message());
        warned = true;
        uint64_t v = 0;
        pollfd p{wake_fd_, POLLIN, 0};
        poll(&p, 1, static_cast<int>(retry.count()));
        if (read(wake_fd_, &v, sizeof v) < 0) {
        }
        continue;
      }
      if (warned) spdlog::info("change feed: listening on {} again", target);
      warned = false;
      // Whatever was written while nobody listened is in the event table: read it.
      on_change();
    }
    auto n = link.wait_for_notifications(now + std::chrono::seconds(1), wake_fd_);
    if (n.ok() && *n > 0) on_change();
  }
}

}  // namespace cenv
