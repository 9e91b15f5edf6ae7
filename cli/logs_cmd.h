#pragma once
// `cenv logs cr/NAME|svc/NAME [-f] [--since-bytes N] [--timestamps]`: print a CommandRun's
// stored output (or a Service container's), stdout to stdout and stderr to stderr, following it
// with -f until the run ends. The streaming itself (stream_logs) is shared with `cenv run`.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/status.h"
#include "cli/context.h"
#include "cli/controller_client.h"

namespace grpc {
class ClientContext;
}

namespace cenv::cli {

struct LogsFlags {
  std::vector<std::string> args;  // cr/NAME, svc/NAME, KIND NAME, or NAME (a CommandRun)
  bool follow = false;
  int64_t since_bytes = 0;
  bool timestamps = false;
};

int run_logs(const Context& context, const std::string& ns, const LogsFlags& flags);

// Cancels the call stream_logs() is in from another thread (a signal handler's thread).
// Thread-safe.
class StreamCanceller {
 public:
  void cancel();
  bool cancelled();
  // For stream_logs: the context of the call in flight (nullptr between calls).
  void set_context(grpc::ClientContext* ctx);

 private:
  std::mutex mu_;
  grpc::ClientContext* ctx_ = nullptr;  // guarded by mu_
  bool cancelled_ = false;              // guarded by mu_
};

struct LogsTarget {
  std::string kind;  // as the server resolves it: CommandRun, Service, cr, svc...
  std::string ns;
  std::string name;
  bool follow = false;
  int64_t since_bytes = 0;
  bool timestamps = false;
};

struct LogsEnd {
  bool ended = false;  // the run finished (a final frame came)
  int exit_code = 0;
  std::string phase;
  int64_t offset = 0;  // bytes of output seen (since_bytes plus what was written)
};

// Streams the output to `out` / `err` as it arrives. While following, a dropped connection
// (a controller restart) is resumed from the last offset, so nothing is lost or repeated.
// Returns how it ended; the server's error otherwise (NotFound, ...). Cancelled through
// `canceller`: Ok with ended false.
Result<LogsEnd> stream_logs(ControllerClient& client, const LogsTarget& target, FILE* out,
                            FILE* err, StreamCanceller* canceller);

}  // namespace cenv::cli
