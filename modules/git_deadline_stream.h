#pragma once
// libgit2 1.5 has no network timeout option (GIT_OPT_SET_SERVER_CONNECT_TIMEOUT and
// GIT_OPT_SET_SERVER_TIMEOUT came in 1.7): its socket stream connects and reads blocking, so a
// host that drops packets or a server that accepts and then stays silent would hang a fetch
// for minutes or forever. This is Libgit2Fetcher's replacement plain-TCP stream: its connect,
// reads and writes poll against the deadline of the calling thread's GitDeadlineScope. libgit2's
// TLS stream opens its socket through the registered plain stream, so https is bounded too.
// Internal to cenv_modules (git_source.cc).

#include <chrono>
#include <optional>

namespace cenv::modules {

using GitClock = std::chrono::steady_clock;

// Registers the deadline stream as libgit2's plain-TCP stream (process-wide, replacing the
// built-in one; idempotent). Call after git_libgit2_init(), which must still be in effect when
// the stream is used. Returns libgit2's result (0 on success).
int register_git_deadline_stream();

// While alive, streams libgit2 creates on this thread give up at `deadline` (connect, read or
// write fail with a libgit2 network error saying so). Streams created on a thread without a
// scope wait as long as the system does. Scopes nest; the inner one wins until it ends.
class GitDeadlineScope {
 public:
  explicit GitDeadlineScope(GitClock::time_point deadline);
  ~GitDeadlineScope();
  GitDeadlineScope(const GitDeadlineScope&) = delete;
  GitDeadlineScope& operator=(const GitDeadlineScope&) = delete;

 private:
  std::optional<GitClock::time_point> previous_;
};

}  // namespace cenv::modules
