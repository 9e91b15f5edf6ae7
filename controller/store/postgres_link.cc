#include "controller/store/postgres_link.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace cenv {

namespace {

int millis_until(PostgresLink::Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

}  // namespace

PostgresLink::PostgresLink(std::string url, std::string target)
    : url_(std::move(url)), target_(std::move(target)) {}

PostgresLink::~PostgresLink() { disconnect(); }

bool PostgresLink::connected() const {
  return conn_ != nullptr && pq().PQstatus(conn_) == CONNECTION_OK;
}

void PostgresLink::disconnect() {
  if (conn_ != nullptr) pq().PQfinish(conn_);
  conn_ = nullptr;
}

Status PostgresLink::lost(const char* what, const std::string& why) {
  disconnect();
  return Status::Unavailable("postgres: " + std::string(what) + " on " + target_ + ": " + why);
}

Status PostgresLink::connect(Deadline deadline) {
  disconnect();
  // libpq's connect_timeout is whole seconds, at least 2: the deadline rounded up.
  const int seconds = std::max(2, (millis_until(deadline) + 999) / 1000);
  const std::string timeout = std::to_string(seconds);
  const char* keys[] = {
      "connect_timeout", "keepalives_idle",           "keepalives_interval", "keepalives_count",
      "dbname",          "fallback_application_name", "client_encoding",     nullptr};
  const char* values[] = {timeout.c_str(), "5", "2", "2", url_.c_str(), "cenv", "UTF8", nullptr};
  conn_ = pq().PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return lost("connect", "out of memory");
  pq().PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  if (pq().PQstatus(conn_) != CONNECTION_OK) {
    return lost("connect", pg_one_line(pq().PQerrorMessage(conn_)));
  }
  if (!on_connect_.empty()) {
    auto r = query(on_connect_.c_str(), {}, deadline);
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status PostgresLink::await(Deadline deadline, const char* what) {
  while (pq().PQisBusy(conn_)) {
    pollfd p{pq().PQsocket(conn_), POLLIN, 0};
    int n = poll(&p, 1, millis_until(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return lost(what, "no answer before the deadline");
    if (n < 0 || !pq().PQconsumeInput(conn_)) {
      return lost(what, pg_one_line(pq().PQerrorMessage(conn_)));
    }
  }
  return Status::Ok();
}

Result<PgResult> PostgresLink::query(const char* sql, const std::vector<std::string>& params,
                                     Deadline deadline) {
  if (!connected()) CENV_RETURN_IF_ERROR(connect(deadline));
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  if (!pq().PQsendQueryParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                              nullptr, nullptr, 0)) {
    return lost("send a statement", pg_one_line(pq().PQerrorMessage(conn_)));
  }
  PgResult first;
  for (;;) {
    CENV_RETURN_IF_ERROR(await(deadline, "wait for an answer"));
    PgResult r(pq().PQgetResult(conn_));
    if (!r) break;
    if (!first) first = std::move(r);
  }
  if (!first) return lost("read an answer", pg_one_line(pq().PQerrorMessage(conn_)));
  const ExecStatusType st = pq().PQresultStatus(first.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string why = pg_one_line(pq().PQresultErrorMessage(first.get()));
    if (!connected()) return lost("run a statement", why);
    return Status::Internal("postgres: " + why);
  }
  return first;
}

Result<int> PostgresLink::wait_for_notifications(Deadline deadline, int wake_fd) {
  if (!connected()) return Status::Unavailable("postgres: not connected to " + target_);
  auto drain = [this] {
    int count = 0;
    while (PGnotify* n = pq().PQnotifies(conn_)) {
      pq().PQfreemem(n);
      ++count;
    }
    return count;
  };
  if (int already = drain(); already > 0) return already;
  for (;;) {
    pollfd fds[2] = {{pq().PQsocket(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int n = poll(fds, wake_fd >= 0 ? 2 : 1, millis_until(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    if (wake_fd >= 0 && (fds[1].revents & POLLIN)) return 0;
    if (!pq().PQconsumeInput(conn_)) {
      return lost("wait for notifications", pg_one_line(pq().PQerrorMessage(conn_)));
    }
    return drain();
  }
}

}  // namespace cenv
