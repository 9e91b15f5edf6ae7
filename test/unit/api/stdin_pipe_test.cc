#include "api/stdin_pipe.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace cenv {
namespace {

using std::chrono::milliseconds;

TEST_CASE("stdin pipe: a writer waits for room past the limit, and gives up in time",
          "[stdin_pipe]") {
  StdinPipe pipe;
  const std::string mib(size_t{1} << 20, 'x');
  for (size_t i = 0; i < kMaxPendingStdinBytes / mib.size(); ++i) {
    REQUIRE(pipe.write(mib, milliseconds(0)));
  }
  // Full: nobody takes, so the next write gives up and writes nothing.
  CHECK_FALSE(pipe.write("y", milliseconds(50)));
  std::string got;
  CHECK_FALSE(pipe.take(&got));
  CHECK(got.size() == kMaxPendingStdinBytes);

  // Full again, then a reader takes while the writer waits: the write goes through.
  for (size_t i = 0; i < kMaxPendingStdinBytes / mib.size(); ++i) {
    REQUIRE(pipe.write(mib, milliseconds(0)));
  }
  std::thread reader([&] {
    std::this_thread::sleep_for(milliseconds(50));
    std::string drained;
    pipe.take(&drained);
  });
  CHECK(pipe.write("z", std::chrono::seconds(10)));
  reader.join();
  std::string last;
  pipe.take(&last);
  CHECK(last == "z");

  // One write larger than the limit into an empty pipe is taken whole.
  CHECK(pipe.write(std::string(kMaxPendingStdinBytes + 1, 'w'), milliseconds(0)));
  pipe.close();
  CHECK(pipe.write("after close", milliseconds(0)));
  std::string rest;
  CHECK(pipe.take(&rest));
  CHECK(rest.size() == kMaxPendingStdinBytes + 1);
}

}  // namespace
}  // namespace cenv
