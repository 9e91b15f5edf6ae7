#pragma once
// `cenv sync env/NAME [--wait]`, `cenv suspend env/NAME` and `cenv resume env/NAME`: the Git
// source of an Environment (spec.source), as `flux reconcile`, `flux suspend` and
// `flux resume` do. Each writes through Update, so they work against a remote controller too.

#include <chrono>
#include <string>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "cli/context.h"

namespace cenv::cli {

struct SyncFlags {
  std::vector<std::string> args;  // env/NAME or environment NAME
  bool wait = false;              // wait for the sync's outcome
  std::string timeout = "5m";     // how long --wait waits
};

// The name of the one Environment `args` names (env/NAME, environment NAME, ...); Invalid for
// any other kind or count, naming `verb`.
Result<std::string> environment_arg(const std::vector<std::string>& args, const std::string& verb);

// `env` with spec.source.suspend = `suspend`; FailedPrecondition naming spec.source when `env`
// has none.
Result<Object> with_suspend(Object env, bool suspend);

// Follows, one observed Environment after another, the outcome of the sync request `request`
// (the value of cenv.io/sync-requested-at it set): done when status.source.lastHandledSyncRequest
// is that request (or a later one of the same form) and Synced is True; failed when Synced is
// then False, when the Environment is suspended or loses spec.source. Not thread-safe.
class SyncWatch {
 public:
  explicit SyncWatch(std::string request) : request_(std::move(request)) {}

  enum class State { kWaiting, kDone, kFailed };
  State observe(const Object& env);
  // kDone: the revision applied; kFailed: why; kWaiting: what the Environment shows.
  const std::string& detail() const { return detail_; }

 private:
  std::string request_;
  std::string detail_;
};

// Returns the exit code: 0 when the request is recorded (and, with --wait, the sync done); 1
// with a message otherwise.
int run_sync(const Context& context, const SyncFlags& flags);

// Sets spec.source.suspend of the Environment `args` names to `suspend` (field manager cenv);
// prints `environment/NAME suspended` or `resumed`. Returns the exit code.
int run_suspend(const Context& context, const std::vector<std::string>& args, bool suspend);

}  // namespace cenv::cli
