#include "reconcilers/docker_event_source.h"

#include <spdlog/spdlog.h>

#include <condition_variable>

#include "reconcilers/docker_names.h"

namespace cenv {

namespace {

std::string attr(const docker::DockerEvent& e, std::string_view key) {
  auto it = e.attributes.find(std::string(key));
  return it == e.attributes.end() ? std::string() : it->second;
}

// Sleeps `d` or until `stop` is requested.
void sleep_for(const std::stop_token& stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
}

}  // namespace

DockerEventSource::DockerEventSource(DockerConnection& docker, DockerEventSourceOptions options)
    : docker_(docker), options_(options) {}

void DockerEventSource::route(const std::string& kind, std::function<void(const Request&)> enqueue,
                              std::function<void()> resync) {
  std::lock_guard lock(mu_);
  routes_[kind] = {std::move(enqueue), std::move(resync)};
}

uint64_t DockerEventSource::subscriptions() const {
  std::lock_guard lock(mu_);
  return subscriptions_;
}

void DockerEventSource::start(std::stop_token stop) {
  std::chrono::milliseconds backoff = options_.min_backoff;
  std::string last_error;
  while (!stop.stop_requested()) {
    auto d = docker_.client();
    Status s = d.ok() ? Status::Ok() : d.status();
    if (d.ok()) {
      docker::EventsOptions options;
      options.types = {"container"};
      options.label_filters = options_.names.managed_filters();
      // exec_* events (health checks) carry no news about the container itself.
      options.actions = {"create",  "start", "restart", "die",    "kill", "stop",
                         "destroy", "pause", "unpause", "rename", "oom",  "update"};
      options.on_subscribed = [&] {
        std::vector<std::function<void()>> resyncs;
        {
          std::lock_guard lock(mu_);
          ++subscriptions_;
          for (const auto& [kind, r] : routes_) {
            if (r.resync) resyncs.push_back(r.resync);
          }
        }
        if (!last_error.empty()) spdlog::info("docker events: subscribed again");
        last_error.clear();
        backoff = options_.min_backoff;
        for (const auto& r : resyncs) r();
      };
      s = d.value()->events(
          options,
          [this](const docker::DockerEvent& e) {
            std::string kind = attr(e, kLabelKind);
            std::function<void(const Request&)> enqueue;
            {
              std::lock_guard lock(mu_);
              auto it = routes_.find(kind);
              if (it == routes_.end()) return true;
              enqueue = it->second.enqueue;
            }
            Request req{kind, attr(e, kLabelNamespace), attr(e, kLabelName)};
            if (!req.name.empty()) enqueue(req);
            return true;
          },
          stop);
    }
    if (stop.stop_requested()) break;
    std::string error = s.ok() ? "the stream ended" : s.message();
    if (error != last_error) spdlog::warn("docker events: {}; subscribing again", error);
    last_error = error;
    sleep_for(stop, backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace cenv
