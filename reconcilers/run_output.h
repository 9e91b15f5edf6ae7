#pragma once
// RunOutput: carries one attempt's output from Docker into the store (DESIGN section 4),
// bounded: the reading thread queues bytes with write(), a writer thread of its own stores
// them in chunks through the LogHub. When the store is slower than the command, write()
// blocks once buffer_bytes are queued, which stops reading from Docker (on an attach stream
// dockerd then blocks the container's writes; a logs replay waits in Docker's log), so memory
// stays bounded and nothing is lost. Whatever is queued when the
// writer gets to it goes in one append, so a slow store gets few large transactions and a fast
// one gets each piece with little delay.
//
// Re-attaching after a controller restart: `skip` names the bytes of each stream the store
// already holds for this attempt; write() drops that many bytes of each stream first, so a
// replay of the container's whole output stores every byte once.
//
// Thread-safe: write() from one producer thread, close()/abandon() from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "api/clock.h"
#include "api/limits.h"
#include "api/status.h"
#include "controller/store/log_hub.h"

namespace cenv {

struct RunOutputOptions {
  // Largest chunk stored (bytes of one stream read back to back are merged up to it).
  // Default kMaxLogChunkBytes, 256 KiB (larger ones are split again by the LogHub).
  size_t chunk_bytes = kMaxLogChunkBytes;
  // Bytes queued before write() waits for the store. Default 4 MiB.
  size_t buffer_bytes = 4 << 20;
  // Pause before retrying an append the store refused as Unavailable. Default 200 ms.
  std::chrono::milliseconds retry_delay{200};
};

// What the store holds of attempt `attempt` of run `uid`, by stream: what a re-attached attempt
// passes as skip_stdout and skip_stderr. Errors of Store::log_summary().
struct StoredOutput {
  int64_t stdout_bytes = 0;
  int64_t stderr_bytes = 0;
};
Result<StoredOutput> stored_output(Store& store, const std::string& uid, int attempt);

class RunOutput {
 public:
  // Stores into `uid`'s log as attempt `attempt`. `hub` and `clock` must outlive this.
  RunOutput(LogHub& hub, std::string uid, int attempt, int64_t skip_stdout, int64_t skip_stderr,
            const Clock& clock, RunOutputOptions options = {});
  ~RunOutput();  // abandon() unless closed
  RunOutput(const RunOutput&) = delete;
  RunOutput& operator=(const RunOutput&) = delete;

  // Queues `bytes` of `stream`; blocks while the queue is full. False once the output failed
  // (the store refused it for good) or was abandoned: the producer should stop reading.
  bool write(LogStream stream, std::string_view bytes);
  // Stores everything queued and stops the writer. The first permanent store failure, if any.
  Status close();
  // Stops the writer, dropping what is queued (the controller is shutting down; a later
  // re-attach stores it). Idempotent.
  void abandon();
  // The log's size in bytes after the last append (0 before the first).
  int64_t log_bytes();

 private:
  struct Piece {
    LogStream stream;
    std::chrono::system_clock::time_point time;
    std::string data;
  };
  void run();

  LogHub& hub_;
  const std::string uid_;
  const int attempt_;
  const Clock& clock_;
  const RunOutputOptions options_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Piece> queue_;   // guarded by mu_
  size_t queued_bytes_ = 0;   // guarded by mu_
  int64_t skip_[2] = {0, 0};  // guarded by mu_; bytes of stdout/stderr still to drop
  bool closing_ = false;      // guarded by mu_: store what is queued, then stop
  bool abandoned_ = false;    // guarded by mu_: stop now
  bool writer_done_ = false;  // guarded by mu_
  Status failure_;            // guarded by mu_
  int64_t log_bytes_ = 0;     // guarded by mu_
  std::thread writer_;
};

}  // namespace cenv
