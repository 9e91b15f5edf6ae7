#include "controller/store/open_store.h"

#include <cctype>
#include <string_view>

#include "controller/store/postgres_change_feed.h"
#include "controller/store/postgres_lease.h"
#include "controller/store/postgres_store.h"
#include "controller/store/postgres_url.h"
#include "controller/store/sqlite_store.h"

namespace cenv {

namespace {

constexpr const char* kAcceptedForms =
    "expected sqlite:PATH, a file path, or a postgres://USER:PASSWORD@HOST:PORT/DB (or "
    "postgresql://) URI";

// The URL scheme `url` starts with (RFC 3986: a letter, then letters, digits, + - .,
// then ':'), lower-cased; empty when it has none.
std::string scheme_of(std::string_view url) {
  size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return "";
  std::string scheme;
  for (size_t i = 0; i < colon; ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (!(std::isalpha(c) || (i > 0 && (std::isdigit(c) || c == '+' || c == '-' || c == '.')))) {
      return "";
    }
    scheme.push_back(static_cast<char>(std::tolower(c)));
  }
  return scheme;
}

// "host=... dbname=...": libpq's key=value form, which open_store does not take (a file
// of that name is far less likely than a mistake).
bool looks_like_key_values(std::string_view url) {
  size_t i = 0;
  while (i < url.size() && std::isspace(static_cast<unsigned char>(url[i]))) ++i;
  size_t key = i;
  while (i < url.size() && (std::isalpha(static_cast<unsigned char>(url[i])) || url[i] == '_')) {
    ++i;
  }
  if (i == key) return false;
  while (i < url.size() && std::isspace(static_cast<unsigned char>(url[i]))) ++i;
  return i < url.size() && url[i] == '=';
}

enum class Engine { kSqlite, kPostgres, kInvalid };

// Which engine `url` names; for SQLite, `*path` is the file.
Engine classify(const std::string& url, std::string* path) {
  if (url.empty() || looks_like_key_values(url)) return Engine::kInvalid;
  const std::string scheme = scheme_of(url);
  if (scheme.empty()) {
    *path = url;
    return Engine::kSqlite;
  }
  if (scheme == "sqlite") {
    *path = url.substr(scheme.size() + 1);
    return path->empty() ? Engine::kInvalid : Engine::kSqlite;
  }
  if ((scheme == "postgres" || scheme == "postgresql") &&
      url.compare(scheme.size(), 3, "://") == 0) {
    return Engine::kPostgres;
  }
  return Engine::kInvalid;
}

// `url` with its scheme in lower case: libpq only knows the lower-case prefixes.
std::string libpq_uri(const std::string& url) {
  std::string uri = url;
  for (size_t i = 0; i < uri.size() && uri[i] != ':'; ++i) {
    uri[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(uri[i])));
  }
  return uri;
}

}  // namespace

Result<std::unique_ptr<Store>> open_store(const std::string& url, const Clock& clock) {
  std::string path;
  switch (classify(url, &path)) {
    case Engine::kSqlite: {
      auto store = SqliteStore::open(path, clock);
      if (!store.ok()) return store.status();
      return std::unique_ptr<Store>(std::move(store).value());
    }
    case Engine::kPostgres: {
      auto store = PostgresStore::open(libpq_uri(url), clock);
      if (!store.ok()) return store.status();
      return std::unique_ptr<Store>(std::move(store).value());
    }
    case Engine::kInvalid:
      break;
  }
  return Status::Invalid("invalid store URL \"" + describe_store_url(url) +
                         "\": " + kAcceptedForms);
}

Result<std::unique_ptr<LeaseStore>> open_lease_store(const std::string& url) {
  std::string path;
  switch (classify(url, &path)) {
    case Engine::kSqlite:
      return std::unique_ptr<LeaseStore>();
    case Engine::kPostgres: {
      auto leases = PostgresLeaseStore::open(libpq_uri(url));
      if (!leases.ok()) return leases.status();
      return std::unique_ptr<LeaseStore>(std::move(leases).value());
    }
    case Engine::kInvalid:
      break;
  }
  return Status::Invalid("invalid store URL \"" + describe_store_url(url) +
                         "\": " + kAcceptedForms);
}

Result<std::unique_ptr<ChangeFeed>> open_change_feed(const std::string& url,
                                                     std::function<void()> on_change) {
  std::string path;
  switch (classify(url, &path)) {
    case Engine::kSqlite:
      return std::unique_ptr<ChangeFeed>();
    case Engine::kPostgres: {
      auto feed = PostgresChangeFeed::start(libpq_uri(url), std::move(on_change));
      if (!feed.ok()) return feed.status();
      return std::unique_ptr<ChangeFeed>(std::move(feed).value());
    }
    case Engine::kInvalid:
      break;
  }
  return Status::Invalid("invalid store URL \"" + describe_store_url(url) +
                         "\": " + kAcceptedForms);
}

std::string describe_store_url(const std::string& url) {
  std::string path;
  if (classify(url, &path) == Engine::kSqlite) return "sqlite:" + path;
  return redacted_url(url);
}

}  // namespace cenv
