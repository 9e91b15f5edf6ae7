#include "controller/store/log_hub.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/limits.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"
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

}  // namespace
}  // namespace cenv
