#pragma once
// HeapTrimmer: gives the memory a burst of work freed back to the operating system. glibc
// keeps the heap a large request used at its peak (a 10,000-object Apply frees ~100 MB that
// stays resident otherwise, bench/HISTORY.md); malloc_trim(0) returns the free pages. The
// trimmer does that on its own thread once activity (notify(), e.g. after every commit) has
// paused for `quiet`, or at most every `busy_interval` while activity goes on.
// Thread-safe; notify() is a lock-free store.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <thread>

namespace cenv {

struct HeapTrimmerOptions {
  // Trim once activity has paused this long. Default 250 ms.
  std::chrono::milliseconds quiet{250};
  // While activity goes on, trim at most this often. Default 1 s.
  std::chrono::milliseconds busy_interval{1000};
  // How often the thread looks. Default 100 ms.
  std::chrono::milliseconds poll{100};
};

class HeapTrimmer {
 public:
  explicit HeapTrimmer(HeapTrimmerOptions options = {});
  ~HeapTrimmer();  // stops and joins the thread
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Something allocated and freed memory (a commit, a large request): trim after it.
  void notify();
  // Trims done so far (for tests and metrics).
  int64_t trims() const { return trims_.load(); }

 private:
  void run(std::stop_token stop);

  const HeapTrimmerOptions options_;
  std::atomic<int64_t> last_activity_ns_{0};  // steady clock; 0: nothing since the last trim
  std::atomic<int64_t> trims_{0};
  std::mutex mu_;
  std::condition_variable_any cv_;  // the thread's sleep, with mu_
  std::jthread thread_;             // last: stopped and joined first
};

}  // namespace cenv
