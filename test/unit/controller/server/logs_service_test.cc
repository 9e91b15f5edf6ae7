#include "controller/server/logs_service.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/limits.h"

namespace cenv {
namespace {

// 2.5 chunks' worth of distinct bytes.
std::string long_output() {
  std::string out;
  for (size_t i = 0; i < kMaxLogChunkBytes * 5 / 2; ++i) out.push_back(static_cast<char>(i % 251));
  return out;
}

TEST_CASE("a log frame past kMaxLogChunkBytes reaches the reader in bounded frames",
          "[logs][limits]") {
  LogFrame frame;
  frame.stream = LogStream::kStderr;
  frame.offset = 100;
  frame.data = long_output();
  std::vector<LogFrame> got;
  CHECK(send_bounded_frame(frame, [&](const LogFrame& f) {
    got.push_back(f);
    return true;
  }));
  REQUIRE(got.size() == 3);
  std::string read;
  int64_t offset = 100;
  for (const LogFrame& f : got) {
    CHECK(f.data.size() <= kMaxLogChunkBytes);
    CHECK(f.stream == LogStream::kStderr);
    CHECK(f.offset == offset);
    offset += static_cast<int64_t>(f.data.size());
    read += f.data;
  }
  CHECK(read == frame.data);

  // A reader that goes away stops the rest.
  int calls = 0;
  CHECK_FALSE(send_bounded_frame(frame, [&](const LogFrame&) { return ++calls < 1; }));
  CHECK(calls == 1);
}

}  // namespace
}  // namespace cenv
