#pragma once
// Output of CommandRuns, Services and Environments' image builds (DESIGN sections 3 and 4).
//
// LogsService is the Logs and Stdin calls apart from gRPC: it streams a CommandRun's stored
// output from a byte offset (following it until the run ends, then a final frame with the exit
// code) as the LogHub (controller/store/log_hub.h) wakes it, the output of an Environment's
// last runtime image build the same way (offsets count from that build's first byte; the final
// frame's phase is the build's result, Succeeded or Failed, exit code 0 or 1), or a Service
// container's output through a ServiceLogSource (the composition root gives it Docker's).
// Thread-safe.

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
#include "controller/server/api_service.h"
#include "controller/store/log_hub.h"
#include "controller/store/store.h"

namespace cenv {

// What a Logs call asks for.
struct LogsQuery {
  std::string kind;  // CommandRun, Service or Environment, or any of their names (cr, svc, env)
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

// Hands `frame` to `sink` in frames of at most kMaxLogChunkBytes of data (api/limits.h), their
// offsets following on; false as soon as the sink says the reader is gone.
bool send_bounded_frame(const LogFrame& frame, const LogFrameSink& sink);

struct LogsServiceOptions {
  // Bytes read from the store per query while catching up. Default 1 MiB.
  size_t read_bytes = 1 << 20;
  // Longest wait for new output before a follower checks the run (and the caller) again.
  // Default 250 ms.
  std::chrono::milliseconds poll_interval{250};
};

// Streams the output of `service` (as stored) into `sink` with `docker logs` semantics: from
// query.since_bytes, following new output with query.follow, until it is all sent, the sink
// returns false or `cancelled()` turns true (all Ok). NotFound when the Service has no
// container; Unavailable when its container runtime does not answer.
using ServiceLogSource =
    std::function<Status(const Object& service, const LogsQuery& query, const LogFrameSink& sink,
                         const std::function<bool()>& cancelled)>;

class LogsService {
 public:
  // `service_logs` may be empty: Service logs are then Unavailable. Every reference must
  // outlive the service.
  LogsService(ApiService& api, LogHub& hub, ServiceLogSource service_logs,
              LogsServiceOptions options = {});

  // Streams the output `query` names into `sink` until it is all sent (or, with follow, the
  // run or the build has ended), the sink returns false or `cancelled()` turns true (all Ok).
  // NotFound for a missing object or a Service without a container; Invalid for other kinds or
  // a negative since_bytes.
  Status stream(const LogsQuery& query, const LogFrameSink& sink,
                const std::function<bool()>& cancelled);

  // The stdin pipe of CommandRun ns/name. NotFound when it does not exist; FailedPrecondition
  // when it was not created with spec.stdin or has finished.
  Result<std::shared_ptr<StdinPipe>> stdin_pipe(const std::string& ns, const std::string& name);

 private:
  // A log in the store and how to tell that its writer is done.
  struct StoredLog {
    std::string kind, ns, name, uid;  // its owner
    int64_t base = 0;                 // the byte of the whole log that frames count from
    std::function<bool(const Object& owner)> finished;          // no more output comes
    std::function<void(const Object& owner, LogFrame& f)> end;  // fills the final frame
  };
  Status stream_run(const Object& run, const LogsQuery& query, const LogFrameSink& sink,
                    const std::function<bool()>& cancelled);
  Status stream_build(const Object& env, const LogsQuery& query, const LogFrameSink& sink,
                      const std::function<bool()>& cancelled);
  // Streams `log` from base + query.since_bytes, following it (re-reading its owner) until
  // log.finished() holds, then sends the final frame.
  Status stream_log(const StoredLog& log, const Object& owner, const LogsQuery& query,
                    const LogFrameSink& sink, const std::function<bool()>& cancelled);

  ApiService& api_;
  LogHub& hub_;
  ServiceLogSource service_logs_;
  const LogsServiceOptions options_;
};

// True for the phases a CommandRun does not leave: Succeeded, Failed, Cancelled.
bool is_finished_run_phase(std::string_view phase);

}  // namespace cenv
