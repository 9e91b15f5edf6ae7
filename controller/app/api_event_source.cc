#include "controller/app/api_event_source.h"

#include <deque>
#include <utility>

namespace cenv {

namespace {

constexpr size_t kHistoryBatch = 1000;

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
  // Registered first, so nothing committed from here on can be missed.
  auto sub = hub_.subscribe(filter);
  std::vector<WatchEvent> backlog;
  int64_t last = after;
  // What happened between `after` and the point the hub took over comes from the history.
  bool caught_up = last >= sub->start_revision();
  while (!caught_up) {
    auto events = api_.store().events_since(last, kHistoryBatch);
    if (!events.ok()) return events.status();
    if (events->empty()) break;
    for (WatchEvent& e : events.value()) {
      if (e.revision > sub->start_revision()) {
        caught_up = true;
        break;
      }
      last = e.revision;
      if (filter.matches(e.object)) backlog.push_back(std::move(e));
    }
    caught_up = caught_up || last >= sub->start_revision();
  }
  return std::unique_ptr<EventStream>(
      std::make_unique<HubStream>(std::move(sub), std::move(backlog), last));
}

}  // namespace cenv
