#include "reconcilers/run_output.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "test/fakes/forwarding_store.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

// A Store that refuses appends as Unavailable (busy) a number of times and is slow otherwise,
// delegating everything to a real store.
class BusyStore final : public testing::ForwardingStore {
 public:
  BusyStore(Store& inner, int refusals) : ForwardingStore(inner), refusals_(refusals) {}
  Result<int64_t> append_log(const std::string& uid, std::span<const LogPiece> p) override {
    ++appends;
    if (refusals_ > 0) {
      --refusals_;
      return Status::Unavailable("database is locked");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // slower than the producer
    return inner_.append_log(uid, p);
  }

  std::atomic<int> appends{0};

 private:
  std::atomic<int> refusals_;
};

std::string stored(Store& store, const std::string& uid, LogStream stream) {
  auto chunks = store.read_log(uid, 0, 1 << 30);
  REQUIRE(chunks.ok());
  std::string out;
  for (const auto& c : *chunks) {
    if (c.stream == stream) out += c.data;
  }
  return out;
}

TEST_CASE("RunOutput stores everything in order through a slow, busy store with a small buffer",
          "[reconcilers][run_output]") {
  testing::ApiFixture api;
  BusyStore store(*api.store, 3);
  LogHub hub(store);
  SystemClock clock;
  RunOutputOptions options;
  options.buffer_bytes = 64;  // the producer waits for the store nearly all the time
  options.chunk_bytes = 16;
  options.retry_delay = std::chrono::milliseconds(1);
  std::string out, err;
  {
    RunOutput output(hub, "uid-1", 1, 0, 0, clock, options);
    for (int i = 0; i < 500; ++i) {
      std::string line = "line " + std::to_string(i) + "\n";
      bool to_err = i % 7 == 0;
      (to_err ? err : out) += line;
      REQUIRE(output.write(to_err ? LogStream::kStderr : LogStream::kStdout, line));
    }
    REQUIRE(output.close().ok());
    CHECK(output.log_bytes() == static_cast<int64_t>(out.size() + err.size()));
  }
  CHECK(stored(*api.store, "uid-1", LogStream::kStdout) == out);
  CHECK(stored(*api.store, "uid-1", LogStream::kStderr) == err);
  auto chunks = api.store->read_log("uid-1", 0, 1 << 30);
  REQUIRE(chunks.ok());
  for (const auto& c : *chunks) CHECK(c.data.size() <= 64);
  CHECK(store.appends > 3);  // the refusals were retried
}

TEST_CASE("RunOutput skips what the store already holds of each stream (re-attach)",
          "[reconcilers][run_output]") {
  testing::ApiFixture api;
  LogHub hub(*api.store);
  SystemClock clock;
  {
    RunOutput first(hub, "uid-2", 1, 0, 0, clock);
    REQUIRE(first.write(LogStream::kStdout, "abc"));
    REQUIRE(first.write(LogStream::kStderr, "E1"));
    REQUIRE(first.close().ok());
  }
  {
    // Docker replays the whole output; 3 bytes of stdout and 2 of stderr are stored already.
    RunOutput again(hub, "uid-2", 1, 3, 2, clock);
    REQUIRE(again.write(LogStream::kStdout, "ab"));
    REQUIRE(again.write(LogStream::kStderr, "E1E2"));
    REQUIRE(again.write(LogStream::kStdout, "cdef"));
    REQUIRE(again.close().ok());
  }
  CHECK(stored(*api.store, "uid-2", LogStream::kStdout) == "abcdef");
  CHECK(stored(*api.store, "uid-2", LogStream::kStderr) == "E1E2");
}

TEST_CASE("RunOutput reports a store that refuses for good, and stops taking output",
          "[reconcilers][run_output]") {
  testing::ApiFixture api;
  LogHub hub(*api.store);
  SystemClock clock;
  RunOutput output(hub, "", 1, 0, 0, clock);  // an empty uid: Invalid in every store
  (void)output.write(LogStream::kStdout, "lost");
  Status s = output.close();
  CHECK(s.code() == Code::kInvalid);
  CHECK_FALSE(output.write(LogStream::kStdout, "more"));
}

}  // namespace
}  // namespace cenv
