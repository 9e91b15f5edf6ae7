#include "controller/app/api_event_source.h"

#include <utility>

namespace cenv {

namespace {

class HubStream final : public EventStream {
 public:
  HubStream(std::shared_ptr<WatchHub::Subscription> sub, std::vector<WatchEvent> backlog,
            int64_t last)
      : sub_(std::move(sub)), backlog_(std::move(backlog)), last_(last) {}

  Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout) override {
    if (!backlog_.empty()) return std::exchange(backlog_, {});
    auto events = sub_->next(timeout);
    if (!events.ok()) return events.status();
    // The hub may hand over events the list or the history already covered.
    std::vector<WatchEvent> out;
    for (WatchEvent& e : events.value()) {
      if (e.revision <= last_) continue;
      last_ = e.revision;
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  std::shared_ptr<WatchHub::Subscription> sub_;
  std::vector<WatchEvent> backlog_;
  int64_t last_;
};

}  // namespace

Result<ObjectList> ApiEventSource::list(const std::string& kind) { return api_.list(kind, "", ""); }

Result<std::unique_ptr<EventStream>> ApiEventSource::watch(const std::string& kind, int64_t after) {
  WatchFilter filter;
  filter.kind = kind;
  auto replay = hub_.subscribe_from(std::move(filter), after);
  if (!replay.ok()) return replay.status();
  return std::unique_ptr<EventStream>(std::make_unique<HubStream>(
      std::move(replay->subscription), std::move(replay->history), replay->last));
}

}  // namespace cenv
