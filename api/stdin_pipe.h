#pragma once
// StdinPipe: bytes on their way from a client (the Stdin call, `cenv run -i`) to a process's
// standard input. The API server's Stdin call writes into it and the Docker client drains it
// into an attach or exec stream, so it lives below both.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "api/limits.h"

namespace cenv {

// A pipe from the caller to a process's stdin (attach, exec). The caller writes from any
// thread, before or during the call that drains it; close() sends end-of-file once everything
// written before it has been delivered. Thread-safe.
class StdinPipe {
 public:
  // Queues bytes for the process; while kMaxPendingStdinBytes (api/limits.h) or more wait
  // untaken, first waits for room, at most `wait`. False, writing nothing, when there was no
  // room in time (the process does not read). Ignored (true) after close().
  bool write(std::string_view bytes,
             std::chrono::milliseconds wait = std::chrono::seconds(kStdinWaitSeconds));
  // Ends the input (the process reads EOF).
  void close();

  // For clients: moves everything queued so far into *out (appending). Returns true once
  // close() was called and nothing is left to take.
  bool take(std::string* out);
  // For clients: `on_change` runs (on the writer's thread) after each write() and close(),
  // and once at once if anything is pending; nullptr unregisters, waiting for a running
  // `on_change` to return. One listener at a time; it may call take().
  void set_listener(std::function<void()> on_change);

 private:
  void notify();

  std::mutex mu_;
  std::condition_variable taken_;  // notified when take() or close() makes room
  std::string pending_;            // guarded by mu_
  bool closed_ = false;            // guarded by mu_
  std::mutex listener_mu_;
  std::function<void()> listener_;  // guarded by listener_mu_
};

}  // namespace cenv
