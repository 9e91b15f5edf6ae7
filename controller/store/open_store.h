#pragma once
// open_store: the one place that turns a store URL (`cenv controller run --store`, Hello,
// logs) into a Store engine, so callers never name an engine type.
//
// Accepted forms:
//   sqlite:PATH                 SqliteStore on the file PATH (sqlite::memory: for in-memory)
//   PATH                        the same: a path without a URL scheme
//   postgres://... postgresql://...  PostgresStore on that libpq connection URI

#include <memory>
#include <string>

#include "api/clock.h"
#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

// Opens the engine `url` names with its default options. Invalid, naming the accepted forms,
// when `url` is empty, has another scheme or an empty path, or looks like a libpq key=value
// string (use a postgres:// URI); otherwise the engine's own errors from open(). `clock`
// must outlive the store.
Result<std::unique_ptr<Store>> open_store(const std::string& url, const Clock& clock);

// `url` as it may be shown (Hello, logs): "sqlite:PATH" for either SQLite form, a PostgreSQL
// URI with its password masked (redacted_url()), and anything else masked the same way.
std::string describe_store_url(const std::string& url);

}  // namespace cenv
