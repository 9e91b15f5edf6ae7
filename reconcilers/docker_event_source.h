#pragma once
// DockerEventSource: Docker's event stream as an external event source (DESIGN section 5):
// each container event of a container labelled io.cenv.managed=true is mapped through its
// io.cenv.kind/namespace/name labels back to its owner's key and handed to the route of that
// kind (Controller::enqueue), so a container removed, killed or stopped outside cenv is
// repaired at once, not at the next resync. When the stream breaks (dockerd restarted or
// unreachable) it subscribes again with exponential back-off; after each (re)subscription it
// calls every route's resync, since events may have been missed meanwhile.
// A Runnable: start() runs the stream on the manager's thread until stopped.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>

#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "reconcilers/docker_connection.h"
#include "reconcilers/docker_names.h"

namespace cenv {

struct DockerEventSourceOptions {
  // First wait before subscribing again after the stream broke; doubles up to max_backoff.
  // Defaults 200 ms and 10 s.
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{10'000};
  // Only events of containers this instance created are routed. Default: the default instance.
  DockerNames names{};
};

class DockerEventSource : public Runnable {
 public:
  // `docker` must outlive the source.
  explicit DockerEventSource(DockerConnection& docker, DockerEventSourceOptions options = {});

  // Sends events of containers owned by objects of `kind` to `enqueue`; `resync` (may be
  // empty) runs after every (re)subscription. Call before start().
  void route(const std::string& kind, std::function<void(const Request&)> enqueue,
             std::function<void()> resync = {});

  // Follows the event stream until `stop` is requested.
  void start(std::stop_token stop) override;

  // Subscriptions made so far (1 once first subscribed; more after reconnects).
  uint64_t subscriptions() const;

 private:
  struct Route {
    std::function<void(const Request&)> enqueue;
    std::function<void()> resync;
  };

  DockerConnection& docker_;
  const DockerEventSourceOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Route, std::less<>> routes_;  // guarded by mu_
  uint64_t subscriptions_ = 0;                        // guarded by mu_
};

}  // namespace cenv
