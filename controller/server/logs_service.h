#pragma once
// Output of CommandRuns and Services (DESIGN sections 3 and 4).
//
// LogHub is where a run's output meets its readers inside one controller process: the
// CommandRun reconciler appends through it (to the Store, in chunks) and Logs readers wait on
// it for more. It also holds the stdin pipes of runs started with spec.stdin, which the Stdin
// call feeds and the reconciler drains into the container.
//
// LogsService is the Logs and Stdin calls apart from gRPC: it streams a CommandRun's stored
// output from a byte offset (following it until the run ends, then a final frame with the exit
// code), or a Service container's output from Docker (`docker logs` semantics).
//
// Both are thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "controller/server/api_service.h"
#include "controller/store/store.h"

namespace cenv {

class LogHub {
 public:
  // `store` must outlive the hub.
  explicit LogHub(Store& store) : store_(store) {}

  // Appends to `uid`'s log (Store::append_log) and wakes its readers. Returns the log's size.
  Result<int64_t> append(const std::string& uid, std::span<const LogPiece> pieces);
  // Wakes `uid`'s readers without output (its run finished, or was deleted).
  void notify(const std::string& uid);
  // A number that grows with every append() and notify() of `uid`.
  uint64_t generation(const std::string& uid);
  // Waits until generation(uid) differs from `seen`, or `timeout` passes; returns it.
  uint64_t wait(const std::string& uid, uint64_t seen, std::chrono::milliseconds timeout);

  // The stdin pipe of run `uid`, created on first use (writes are kept until a reader takes
  // them). Both the Stdin call and the reconciler get the same pipe.
  std::shared_ptr<docker::StdinPipe> stdin_pipe(const std::string& uid);
  // The run `uid` ended: drops its stdin pipe (later stdin_pipe() calls make a new one) and
  // its generation (waiting readers wake up).
  void release(const std::string& uid);

  Store& store() { return store_; }

 private:
  Store& store_;
  std::mutex mu_;
  std::condition_variable changed_;
  // guarded by mu_; entries of runs nobody waits for are erased by notify() on completion
  std::map<std::string, uint64_t> generations_;
  std::map<std::string, std::shared_ptr<docker::StdinPipe>> stdin_;  // guarded by mu_
};

// What a Logs call asks for.
struct LogsQuery {
  std::string kind;  // CommandRun or Service, or any of their names (cr, svc, ...)
  std::string ns;    // empty: "default"
  std::string name;
  bool follow = false;      // stream new output until the run (the container) ends
  int64_t since_bytes = 0;  // skip this many bytes of output first
};

// One frame of a Logs stream.
struct LogFrame {
  LogStream stream = LogStream::kStdout;
  std::chrono::system_clock::time_point time{};
  std::string data;
  int64_t offset = 0;  // of data's first byte in the whole output
  // The last frame of a finished CommandRun: no data, its phase and exit code.
  bool end = false;
  int exit_code = 0;
  std::string phase;
};

// Receives frames in order; returns false when the reader is gone (the stream then ends Ok).
using LogFrameSink = std::function<bool(const LogFrame& frame)>;

struct LogsServiceOptions {
  // Bytes read from the store per query while catching up. Default 1 MiB.
  size_t read_bytes = 1 << 20;
  // Longest wait for new output before a follower checks the run (and the caller) again.
  // Default 250 ms.
  std::chrono::milliseconds poll_interval{250};
};

// The Docker client for Service logs, or why there is none (Unavailable).
using DockerProvider = std::function<Result<docker::DockerClient*>()>;

class LogsService {
 public:
  // `docker` may be empty: Service logs are then Unavailable. Every reference must outlive
  // the service.
  LogsService(ApiService& api, LogHub& hub, DockerProvider docker, LogsServiceOptions options = {});

  // Streams the output `query` names into `sink` until it is all sent (or, with follow, the
  // run has ended), the sink returns false or `cancelled()` turns true (all Ok). NotFound for
  // a missing object or a Service without a container; Invalid for other kinds or a negative
  // since_bytes.
  Status stream(const LogsQuery& query, const LogFrameSink& sink,
                const std::function<bool()>& cancelled);

  // The stdin pipe of CommandRun ns/name. NotFound when it does not exist; FailedPrecondition
  // when it was not created with spec.stdin or has finished.
  Result<std::shared_ptr<docker::StdinPipe>> stdin_pipe(const std::string& ns,
                                                        const std::string& name);

 private:
  Status stream_run(const Object& run, const LogsQuery& query, const LogFrameSink& sink,
                    const std::function<bool()>& cancelled);
  Status stream_service(const Object& service, const LogsQuery& query, const LogFrameSink& sink,
                        const std::function<bool()>& cancelled);

  ApiService& api_;
  LogHub& hub_;
  DockerProvider docker_;
  const LogsServiceOptions options_;
};

// True for the phases a CommandRun does not leave: Succeeded, Failed, Cancelled.
bool is_finished_run_phase(std::string_view phase);

}  // namespace cenv
