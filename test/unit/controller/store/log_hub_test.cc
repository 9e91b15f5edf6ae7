#include "controller/store/log_hub.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/limits.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"
#include "test/metrics_sample.h"
#include "test/temp_dir.h"
#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::must;
using testing::suite_time;

// 2.5 chunks' worth of distinct bytes.
std::string long_output() {
  std::string out;
  for (size_t i = 0; i < kMaxLogChunkBytes * 5 / 2; ++i) out.push_back(static_cast<char>(i % 251));
  return out;
}

TEST_CASE("LogHub stores a piece past kMaxLogChunkBytes as several chunks, nothing lost",
          "[logs][limits]") {
  testing::TempDir dir("cenv-log-hub");
  testing::FakeClock clock(suite_time());
  auto store = must(SqliteStore::open((dir.path() / "cenv.db").string(), clock));
  const std::string uid(must(store->create(testing::service("job"))).uid());
  LogHub hub(*store);
  const std::string bytes = long_output();
  std::vector<LogPiece> pieces = {{LogStream::kStderr, 2, suite_time(), bytes}};
  CHECK(must(hub.append(uid, pieces)) == static_cast<int64_t>(bytes.size()));

  auto chunks = must(store->read_log(uid, 0, bytes.size()));
  REQUIRE(chunks.size() == 3);
  std::string read;
  for (const LogChunk& c : chunks) {
    CHECK(c.data.size() <= kMaxLogChunkBytes);
    CHECK(c.stream == LogStream::kStderr);
    CHECK(c.attempt == 2);
    read += c.data;
  }
  CHECK(read == bytes);
}

TEST_CASE("LogHub counts the bytes it stores and not those a failed append refused",
          "[logs][metrics]") {
  testing::TempDir dir("cenv-log-hub");
  testing::FakeClock clock(suite_time());
  auto store = must(SqliteStore::open((dir.path() / "cenv.db").string(), clock));
  const std::string uid(must(store->create(testing::service("job"))).uid());
  metrics::Registry registry;
  LogHub hub(*store, &registry);
  auto bytes = [&] { return testing::sample_value(registry, "cenv_log_bytes_total").value_or(-1); };
  CHECK(bytes() == 0);
  std::vector<LogPiece> pieces = {{LogStream::kStdout, 1, suite_time(), "hello\n"},
                                  {LogStream::kStderr, 1, suite_time(), long_output()}};
  REQUIRE(hub.append(uid, pieces).ok());
  CHECK(bytes() == static_cast<double>(6 + long_output().size()));
  std::vector<LogPiece> empty = {{LogStream::kStdout, 1, suite_time(), ""}};
  CHECK_FALSE(hub.append(uid, empty).ok());
  CHECK(bytes() == static_cast<double>(6 + long_output().size()));
}

}  // namespace
}  // namespace cenv
