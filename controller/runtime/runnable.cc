#include "controller/runtime/runnable.h"

#include <condition_variable>
#include <mutex>

namespace cenv {

void wait_for_stop(const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait(lock, stop, [] { return false; });
}

}  // namespace cenv
