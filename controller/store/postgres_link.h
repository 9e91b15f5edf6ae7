#pragma once
// PostgresLink: one libpq connection for the store's side channels — the leader lease
// (postgres_lease.h) and change notifications (postgres_change_feed.h) — where every call has a
// deadline kept on this side of the connection. A server that stops answering (the network
// cut, the host frozen) cannot hold a call past its deadline: the connection is dropped and the
// call is Unavailable, so a leader learns in time that it can no longer renew its lease.
// The connection is (re)opened by the next call after a failure.
// Not thread-safe: one thread at a time. Messages start with "postgres: " and never show the
// URL's password.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/status.h"
#include "controller/store/postgres_connection.h"

namespace cenv {

class PostgresLink {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // `url`: a libpq URI; `target`: the redacted URL for messages. Does not connect yet.
  PostgresLink(std::string url, std::string target);
  ~PostgresLink();
  PostgresLink(const PostgresLink&) = delete;
  PostgresLink& operator=(const PostgresLink&) = delete;

  // Runs `sql` (one statement, text parameters $1..) and returns its result (tuples or
  // command OK). Connects first when needed; `setup`, when given, runs on every new connection
  // (LISTEN ...). Unavailable when the server cannot be reached or the deadline passes (the
  // connection is dropped then); Internal for other SQL errors.
  Result<PgResult> query(const char* sql, const std::vector<std::string>& params,
                         Deadline deadline);
  // Waits until the server sends a notification, `wake_fd` (when >= 0) becomes readable or the
  // deadline passes; returns how many notifications arrived (0 on timeout or wake). Unavailable
  // when the connection is lost (or none is open).
  Result<int> wait_for_notifications(Deadline deadline, int wake_fd);
  // True when a connection is open and healthy.
  bool connected() const;
  // Drops the connection; the next call opens a new one.
  void disconnect();
  // Sets what runs on every new connection before the first call (e.g. "LISTEN x").
  void set_on_connect(std::string sql) { on_connect_ = std::move(sql); }

 private:
  Status connect(Deadline deadline);
  // Waits until libpq has a whole result or the deadline passes.
  Status await(Deadline deadline, const char* what);
  Status lost(const char* what, const std::string& why);

  const std::string url_;     // secret
  const std::string target_;  // for messages
  std::string on_connect_;
  PGconn* conn_ = nullptr;
};

}  // namespace cenv
