#pragma once
// Runnable: something the Manager runs for the life of the process (controllers, the garbage
// collector), as controller-runtime's manager.Runnable.

#include <stop_token>

namespace cenv {

class Runnable {
 public:
  virtual ~Runnable() = default;
  // Runs until `stop` is requested, then returns once every thread it started has stopped.
  // Called once, on a thread of the Manager's.
  virtual void start(std::stop_token stop) = 0;
};

// Blocks until `stop` is requested.
void wait_for_stop(const std::stop_token& stop);

}  // namespace cenv
