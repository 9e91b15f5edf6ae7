#pragma once
// PostgresChangeFeed: ChangeFeed on PostgreSQL's LISTEN/NOTIFY (change_feed.h). One thread and
// one connection (PostgresLink) per feed; reconnects every `retry` after a failure.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/status.h"
#include "controller/store/change_feed.h"

namespace cenv {

class PostgresChangeFeed final : public ChangeFeed {
 public:
  // Listens on the database at `url` (a postgres:// URI) and calls `on_change` on the feed's
  // thread after each notification (several that arrive together: once) and after each
  // reconnect. `on_change` must be cheap and must not block. Invalid when the URL does not
  // parse; connecting happens on the feed's thread.
  static Result<std::unique_ptr<PostgresChangeFeed>> start(
      const std::string& url, std::function<void()> on_change,
      std::chrono::milliseconds retry = std::chrono::milliseconds(500));
  ~PostgresChangeFeed() override;

 private:
  PostgresChangeFeed() = default;
  void run(std::stop_token stop, std::string url, std::string target,
           std::function<void()> on_change, std::chrono::milliseconds retry);

  int wake_fd_ = -1;  // an eventfd: written to stop the thread's wait
  std::jthread thread_;
};

}  // namespace cenv
