#include "reconcilers/run_output.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

// A Store that refuses appends as Unavailable (busy) a number of times and is slow otherwise,
// delegating everything to a real store.
class BusyStore final : public Store {
 public:
  BusyStore(Store& inner, int refusals) : inner_(inner), refusals_(refusals) {}
  Result<std::vector<Object>> commit(std::span<const Write> w) override { return inner_.commit(w); }
  Result<Object> get(const ObjectKey& k) override { return inner_.get(k); }
  Result<ObjectList> list(const ListOptions& o) override { return inner_.list(o); }
  Result<std::vector<WatchEvent>> events_since(int64_t a, size_t l) override {
    return inner_.events_since(a, l);
  }
  Status compact(int64_t r) override { return inner_.compact(r); }
  Result<int64_t> revision() override { return inner_.revision(); }
  Result<int64_t> compacted_revision() override { return inner_.compacted_revision(); }
  Result<int64_t> append_log(const std::string& uid, std::span<const LogPiece> p) override {
    ++appends;
    if (refusals_ > 0) {
      --refusals_;
      return Status::Unavailable("database is locked");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // slower than the producer
    return inner_.append_log(uid, p);
  }
  Result<std::vector<LogChunk>> read_log(const std::string& uid, int64_t o, size_t m) override {
    return inner_.read_log(uid, o, m);
  }
  Result<LogSummary> log_summary(const std::string& uid) override {
    return inner_.log_summary(uid);
  }
  Status delete_log(const std::string& uid) override { return inner_.delete_log(uid); }
  Status trim_log(const std::string& uid, int keep) override { return inner_.trim_log(uid, keep); }
  Status put_archive(const std::string& d, std::string_view b) override {
    return inner_.put_archive(d, b);
  }
  Result<std::string> get_archive(const std::string& d) override { return inner_.get_archive(d); }
  Result<bool> has_archive(const std::string& d) override { return inner_.has_archive(d); }
  Result<std::vector<std::string>> list_archives() override { return inner_.list_archives(); }

  std::atomic<int> appends{0};

 private:
  Store& inner_;
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
