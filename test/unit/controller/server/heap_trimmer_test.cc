// HeapTrimmer trims after activity, on its own thread, and stops cleanly.

#include "controller/server/heap_trimmer.h"

#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace cenv {
namespace {

TEST_CASE("heap trimmer: activity leads to a trim, nothing happens without it", "[trimmer]") {
  HeapTrimmerOptions options;
  options.quiet = std::chrono::milliseconds(1);
  options.poll = std::chrono::milliseconds(1);
  HeapTrimmer trimmer(options);
  CHECK(trimmer.trims() == 0);
  {
    // Something large allocated and freed, as a big request does.
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < 1000; ++i) blocks.push_back(std::make_unique<char[]>(4096));
  }
  trimmer.notify();
  // A wait on the condition, not a timing assertion.
  while (trimmer.trims() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(trimmer.trims() >= 1);
}

TEST_CASE("heap trimmer: destruction stops the thread at once", "[trimmer]") {
  HeapTrimmerOptions options;
  options.poll = std::chrono::hours(1);  // the thread would sleep for an hour if not woken
  auto trimmer = std::make_unique<HeapTrimmer>(options);
  trimmer->notify();
  trimmer.reset();  // returns: the stop request woke the thread
  SUCCEED();
}

}  // namespace
}  // namespace cenv
