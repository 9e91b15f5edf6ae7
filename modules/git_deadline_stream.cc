#include "modules/git_deadline_stream.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace cenv::modules {

namespace {

// The deadline of the fetch running on this thread (set by GitDeadlineScope). Thread-local
// because libgit2 creates and drives a fetch's streams on the thread that called it.
thread_local std::optional<GitClock::time_point> t_deadline;

// The first members mirror libgit2's own git_socket_stream (parent, host, port, socket), which
// some transports read through a cast.
struct DeadlineStream {
  git_stream parent;
  char* host;
  char* port;
  int fd;
  std::optional<GitClock::time_point> deadline;
};

DeadlineStream* self(git_stream* s) { return reinterpret_cast<DeadlineStream*>(s); }

void set_net_error(const DeadlineStream* st, const std::string& what) {
  const std::string msg = what + " (" + st->host + ":" + st->port + ")";
  git_error_set_str(GIT_ERROR_NET, msg.c_str());
}

// Milliseconds poll() may wait: -1 without a deadline, 0 once it has passed.
int remaining_ms(const DeadlineStream* st) {
  if (!st->deadline) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*st->deadline - GitClock::now());
  if (left.count() <= 0) return 0;
  return left.count() > 86'400'000 ? 86'400'000 : static_cast<int>(left.count());
}

// Waits until `fd` is ready for `events`; 0 when ready, -1 (libgit2 error set) otherwise.
int wait_ready(DeadlineStream* st, short events, const char* doing) {
  for (;;) {
    pollfd p{st->fd, events, 0};
    int r = ::poll(&p, 1, remaining_ms(st));
    if (r > 0) return 0;
    if (r == 0) {
      set_net_error(st, std::string("timed out ") + doing + ": the fetch's deadline passed");
      return -1;
    }
    if (errno != EINTR) {
      set_net_error(st, std::string("poll failed ") + doing + ": " + std::strerror(errno));
      return -1;
    }
  }
}

// Tries one address; 0 when connected, -1 with `why` set otherwise (`timed_out` if the
// deadline passed, in which case no other address is worth trying).
int connect_one(DeadlineStream* st, const addrinfo* ai, std::string& why, bool& timed_out) {
  st->fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (st->fd < 0) {
    why = std::string("cannot create a socket: ") + std::strerror(errno);
    return -1;
  }
  if (::connect(st->fd, ai->ai_addr, ai->ai_addrlen) == 0) return 0;
  if (errno == EINPROGRESS) {
    pollfd p{st->fd, POLLOUT, 0};
    int r;
    do {
      r = ::poll(&p, 1, remaining_ms(st));
    } while (r < 0 && errno == EINTR);
    int err = 0;
    socklen_t len = sizeof err;
    if (r > 0 && ::getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      return 0;
    }
    timed_out = r == 0;
    why = timed_out ? "timed out connecting: the fetch's deadline passed"
                    : std::string("cannot connect: ") + std::strerror(r > 0 ? err : errno);
  } else {
    why = std::string("cannot connect: ") + std::strerror(errno);
  }
  ::close(st->fd);
  st->fd = -1;
  return -1;
}

int stream_connect(git_stream* s) {
  DeadlineStream* st = self(s);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  // Name resolution is the one step not bounded by the deadline (getaddrinfo cannot be
  // interrupted); the resolver's own timeouts apply.
  if (int rc = ::getaddrinfo(st->host, st->port, &hints, &res); rc != 0) {
    set_net_error(st, std::string("cannot resolve the host: ") + ::gai_strerror(rc));
    return -1;
  }
  std::string why = "no address";
  bool timed_out = false;
  for (const addrinfo* ai = res; ai != nullptr && !timed_out; ai = ai->ai_next) {
    if (connect_one(st, ai, why, timed_out) == 0) break;
  }
  ::freeaddrinfo(res);
  if (st->fd < 0) {
    set_net_error(st, why);
    return -1;
  }
  return 0;
}

ssize_t stream_read(git_stream* s, void* buf, size_t len) {
  DeadlineStream* st = self(s);
  for (;;) {
    if (wait_ready(st, POLLIN, "reading") < 0) return -1;
    ssize_t n = ::recv(st->fd, buf, len, 0);
    if (n >= 0) return n;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      set_net_error(st, std::string("cannot read: ") + std::strerror(errno));
      return -1;
    }
  }
}

ssize_t stream_write(git_stream* s, const char* data, size_t len, int /*flags*/) {
  DeadlineStream* st = self(s);
  size_t off = 0;
  while (off < len) {
    if (wait_ready(st, POLLOUT, "writing") < 0) return -1;
    ssize_t n = ::send(st->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += static_cast<size_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      set_net_error(st, std::string("cannot write: ") + std::strerror(errno));
      return -1;
    }
  }
  return static_cast<ssize_t>(len);
}

int stream_close(git_stream* s) {
  DeadlineStream* st = self(s);
  if (st->fd >= 0) ::close(st->fd);
  st->fd = -1;
  return 0;
}

void stream_free(git_stream* s) {
  DeadlineStream* st = self(s);
  stream_close(s);
  std::free(st->host);
  std::free(st->port);
  delete st;
}

int stream_init(git_stream** out, const char* host, const char* port) {
  auto* st = new DeadlineStream{};
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.encrypted = 0;
  st->parent.proxy_support = 0;
  st->parent.connect = &stream_connect;
  st->parent.read = &stream_read;
  st->parent.write = &stream_write;
  st->parent.close = &stream_close;
  st->parent.free = &stream_free;
  st->host = ::strdup(host);
  st->port = ::strdup(port);
  st->fd = -1;
  st->deadline = t_deadline;
  *out = &st->parent;
  return 0;
}

}  // namespace

int register_git_deadline_stream() {
  git_stream_registration reg{};
  reg.version = GIT_STREAM_VERSION;
  reg.init = &stream_init;
  return git_stream_register(GIT_STREAM_STANDARD, &reg);
}

GitDeadlineScope::GitDeadlineScope(GitClock::time_point deadline) : previous_(t_deadline) {
  t_deadline = deadline;
}

GitDeadlineScope::~GitDeadlineScope() { t_deadline = previous_; }

}  // namespace cenv::modules
