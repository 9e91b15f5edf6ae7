#pragma once
// LogHub: where a CommandRun's output meets its readers inside one controller process (DESIGN
// sections 3 and 4). The CommandRun reconciler appends through it (to the Store, in chunks) and
// the Logs call's readers wait on it for more. It also holds the stdin pipes of runs started
// with spec.stdin, which the Stdin call feeds and the reconciler drains into the container.
// It sits beside the Store so that both the API server and the reconcilers reach it. Given a
// registry, it counts the bytes it stores (cenv_log_bytes_total). Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "api/metrics_registry.h"
#include "api/status.h"
#include "api/stdin_pipe.h"
#include "controller/store/store.h"

namespace cenv {

class LogHub {
 public:
  // `store` and `metrics` (may be null: nothing counted) must outlive the hub.
  explicit LogHub(Store& store, metrics::Registry* metrics = nullptr);

  // Appends to `uid`'s log (Store::append_log) and wakes its readers. Returns the log's size.
  // A piece larger than kMaxLogChunkBytes is stored as several chunks.
  Result<int64_t> append(const std::string& uid, std::span<const LogPiece> pieces);
  // Wakes `uid`'s readers without output (its run finished, or was deleted).
  void notify(const std::string& uid);
  // A number that grows with every append() and notify() of `uid`.
  uint64_t generation(const std::string& uid);
  // Waits until generation(uid) differs from `seen`, or `timeout` passes; returns it.
  uint64_t wait(const std::string& uid, uint64_t seen, std::chrono::milliseconds timeout);

  // The stdin pipe of run `uid`, created on first use (writes are kept until a reader takes
  // them). Both the Stdin call and the reconciler get the same pipe.
  std::shared_ptr<StdinPipe> stdin_pipe(const std::string& uid);
  // The run `uid` ended: drops its stdin pipe (later stdin_pipe() calls make a new one) and
  // its generation (waiting readers wake up).
  void release(const std::string& uid);

  Store& store() { return store_; }

 private:
  Store& store_;
  metrics::Counter* bytes_ = nullptr;  // stored by append()
  std::mutex mu_;
  std::condition_variable changed_;
  // guarded by mu_; entries of runs nobody waits for are erased by notify() on completion
  std::map<std::string, uint64_t> generations_;
  std::map<std::string, std::shared_ptr<StdinPipe>> stdin_;  // guarded by mu_
};

}  // namespace cenv
