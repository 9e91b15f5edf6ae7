#pragma once
// open_store: the one place that turns a store URL (`cenv controller run --store`, Hello,
// logs) into a Store engine, so callers never name an engine type.
//
// Accepted forms:
//   sqlite:PATH                 SqliteStore on the file PATH (sqlite::memory: for in-memory)
//   PATH                        the same: a path without a URL scheme
//   postgres://... postgresql://...  PostgresStore on that libpq connection URI

#include <functional>
#include <memory>
#include <string>

#include "api/clock.h"
#include "api/status.h"
#include "controller/store/change_feed.h"
#include "controller/store/lease_store.h"
#include "controller/store/store.h"

namespace cenv {

// Opens the engine `url` names with its default options. Invalid, naming the accepted forms,
// when `url` is empty, has another scheme or an empty path, or looks like a libpq key=value
// string (use a postgres:// URI); otherwise the engine's own errors from open(). `clock`
// must outlive the store.
Result<std::unique_ptr<Store>> open_store(const std::string& url, const Clock& clock);

// The leader lease of the store at `url` (lease_store.h): a PostgresLeaseStore for a PostgreSQL
// URL (connecting on first use), nullptr for SQLite (one controller per store file: it always
// leads). Invalid as open_store().
Result<std::unique_ptr<LeaseStore>> open_lease_store(const std::string& url);

// A ChangeFeed calling `on_change` when another process writes to the store at `url`
// (change_feed.h): LISTEN/NOTIFY for PostgreSQL, nullptr for SQLite (no other writer). Invalid
// as open_store().
Result<std::unique_ptr<ChangeFeed>> open_change_feed(const std::string& url,
                                                     std::function<void()> on_change);

// `url` as it may be shown (Hello, logs): "sqlite:PATH" for either SQLite form, a PostgreSQL
// URI with its password masked (redacted_url()), and anything else masked the same way.
std::string describe_store_url(const std::string& url);

}  // namespace cenv
