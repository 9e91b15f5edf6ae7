#pragma once
// ApiEventSource: an EventSource over the in-process API server: lists through ApiService and
// watches through WatchHub::subscribe_from, which catches up from the store's history between
// the list's revision and the revision the hub's subscription starts at (as the gRPC Watch
// does).
// Thread-safe (ApiService and WatchHub are). Both must outlive it and its streams.

#include "controller/runtime/event_source.h"
#include "controller/server/api_service.h"
#include "controller/server/watch_hub.h"

namespace cenv {

class ApiEventSource final : public EventSource {
 public:
  ApiEventSource(ApiService& api, WatchHub& hub) : api_(api), hub_(hub) {}

  Result<ObjectList> list(const std::string& kind) override;
  // Gone when `after` is older than the compacted history; Internal or Unavailable as the
  // store answers its history read.
  Result<std::unique_ptr<EventStream>> watch(const std::string& kind, int64_t after) override;

 private:
  ApiService& api_;
  WatchHub& hub_;
};

}  // namespace cenv
