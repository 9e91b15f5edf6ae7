#include "controller/server/watch_stream.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "api/display_text.h"
#include "api/environment_secrets.h"
#include "api/grpc_status.h"
#include "api/selector.h"

namespace cenv {

int64_t parse_resource_version(const std::string& s) {
  if (s.empty()) return 0;
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    return used == s.size() && v >= 0 ? v : -1;
  } catch (...) {
    return -1;
  }
}

WatchStream::WatchStream(ApiService& api, WatchHub& hub, WatchStreamOptions options,
                         std::function<void(std::shared_ptr<WatchStream>)> wake)
    : api_(api), hub_(hub), options_(std::move(options)), wake_(std::move(wake)) {}

void* WatchStream::tag(Op op) {
  switch (op) {
    case Op::kRequested:
      return &requested_tag_;
    case Op::kWrite:
      return &write_tag_;
    case Op::kFinish:
      return &finish_tag_;
    default:
      break;
  }
  return &done_tag_;
}

void WatchStream::matched() {
  arrived_ = std::chrono::steady_clock::now();
  matched_ = true;
}

grpc::Status WatchStream::failed(const Status& s) const {
  return options_.fail ? options_.fail(s, arrived_) : to_grpc(s);
}

void WatchStream::begin() {
  auto fail = [&](const Status& s) {
    {
      std::lock_guard lock(mu_);
      end_locked(failed(s));
      started_ = true;
    }
    wake_(shared_from_this());
  };
  const v1::WatchRequest& req = req_;
  const KindInfo* info = api_.kinds().find(req.kind());
  if (options_.admit) {
    // Checked before the kind, so that an unknown caller learns nothing of the kinds.
    static const KindInfo kUnknown{};
    auto admitted = options_.admit(ctx_, info ? *info : kUnknown,
                                   info && !info->namespaced ? "" : req.namespace_());
    if (!admitted.ok()) return fail(admitted.status());
    visible_ = std::move(admitted).value();
  }
  if (!info) {
    return fail(Status::NotFound("the server doesn't have a resource type \"" +
                                 escape_for_display(req.kind()) + "\""));
  }
  auto selector = LabelSelector::parse(req.label_selector());
  if (!selector.ok()) return fail(selector.status());
  int64_t from = parse_resource_version(req.resource_version());
  if (from < 0) return fail(Status::Invalid("resourceVersion: must be an integer"));
  kind_ = info->kind;
  allow_bookmarks_ = req.allow_bookmarks();
  batches_ = req.allow_batches();
  WatchFilter filter{info->kind, info->namespaced ? req.namespace_() : "",
                     std::move(selector.value())};
  std::deque<Pending> backlog;
  int64_t after = from;
  if (from == 0 || req.send_initial_events()) {
    // No version (or asked for): the current objects as ADDED, then changes after the list.
    auto list = api_.list(info->kind, filter.ns, req.label_selector());
    if (!list.ok()) return fail(list.status());
    for (Object& o : list->items) {
      if (!visible_ || visible_(o)) backlog.push_back({"ADDED", std::move(o), 0, {}});
    }
    if (from == 0) after = list->revision;
    if (allow_bookmarks_) {
      // Tells the client where the list stands, so it resumes from there.
      backlog.push_back({"BOOKMARK", Object(), std::max(after, list->revision), {}});
    }
  }
  // Until started_ is set the hub's wake-ups find nothing to write; the events wait in the
  // subscription.
  auto replay =
      hub_.subscribe_from(std::move(filter), after, [weak = weak_from_this(), wake = wake_] {
        if (auto stream = weak.lock()) wake(std::move(stream));
      });
  if (!replay.ok()) return fail(replay.status());
  for (WatchEvent& e : replay->history) {
    if (visible_ && !visible_(e.object)) continue;
    backlog.push_back({event_type_name(e.type), std::move(e.object), e.revision, {}});
  }
  auto sub = std::move(replay->subscription);
  int64_t last = replay->last;
  {
    std::lock_guard lock(mu_);
    sub_ = std::move(sub);
    backlog_ = std::move(backlog);
    last_ = last;
    quiet_since_ = std::chrono::steady_clock::now();
    started_ = true;
  }
  wake_(shared_from_this());
}

std::string WatchStream::bookmark_json(int64_t revision) const {
  Object mark;
  mark.json()["apiVersion"] = kApiVersion;
  mark.json()["kind"] = kind_;
  mark.set_resource_version(revision);
  return mark.to_json();
}

bool WatchStream::next_message_locked() {
  current_.Clear();
  size_t count = 0;  // events in current_
  size_t bytes = 0;  // their JSON and type, roughly their encoded size
  // Whether an event of `size` bytes may join the message: the first one always does.
  auto fits = [&](size_t size) {
    return count == 0 || (batches_ && count < options_.max_batch_events &&
                          bytes + size <= options_.max_batch_bytes);
  };
  auto add = [&](const char* type, std::string json) {
    v1::WatchEvent* e = count == 0 ? &current_ : current_.add_more();
    bytes += json.size() + std::char_traits<char>::length(type);
    e->set_type(type);
    e->set_json(std::move(json));
    ++count;
  };
  // The initial list and the history come first; live events all have later revisions.
  while (!backlog_.empty()) {
    Pending& p = backlog_.front();
    if (p.json.empty()) {
      if (std::string_view(p.type) == "BOOKMARK") {
        p.json = bookmark_json(p.revision);
      } else {
        if (p.revision > 0) p.object.set_resource_version(p.revision);
        p.json = to_client_json(p.object);
      }
    }
    // Too big for this message: it leads the next one (already serialized).
    if (!fits(p.json.size())) return true;
    add(p.type, std::move(p.json));
    backlog_.pop_front();
    if (!batches_) return true;
  }
  // Read where the hub stands before taking its queue: everything dispatched up to there is
  // in the queue by now, so a bookmark at that revision skips nothing.
  int64_t dispatched = bookmark_due_ && count == 0 ? hub_.dispatched_revision() : 0;
  bool took_live = false;
  for (;;) {
    while (!live_.empty()) {
      const SharedWatchEvent& e = *live_.front();
      if (e.event().revision <= last_) {
        live_.pop_front();
        continue;
      }
      if (visible_ && !visible_(e.event().object)) {
        last_ = e.event().revision;  // seen, not shown: bookmarks may pass it
        live_.pop_front();
        continue;
      }
      const std::string& json = e.json();
      if (!fits(json.size())) break;
      add(event_type_name(e.event().type), json);
      last_ = e.event().revision;
      live_.pop_front();
      took_live = true;
      if (!batches_) break;
    }
    // Full (or one event without batches): the rest waits in live_ for the next write.
    if (!live_.empty() || (count > 0 && !batches_)) break;
    if (!sub_) break;
    auto polled = sub_->poll();
    if (!polled.ok()) {
      // Cut off: what this message holds still goes out, then the stream ends with the error.
      end_locked(failed(polled.status()));
      break;
    }
    if (polled->empty()) break;
    for (auto& e : polled.value()) live_.push_back(std::move(e));
  }
  if (took_live) {
    quiet_since_ = std::chrono::steady_clock::now();
    bookmark_due_ = false;
  }
  if (count > 0) return true;
  if (ending_) return false;
  if (bookmark_due_) {
    bookmark_due_ = false;
    last_ = std::max(last_, dispatched);
    add("BOOKMARK", bookmark_json(last_));
    quiet_since_ = std::chrono::steady_clock::now();
    return true;
  }
  return false;
}

void WatchStream::pump() {
  if (!matched_ || writing_ || finishing_) return;  // no call yet, or one op in flight
  std::unique_lock lock(mu_);
  // Not started: the start-up thread is still reading the initial list. An ending stream
  // finishes without waiting for it.
  if (!started_ && !ending_) return;
  if (!ending_ && next_message_locked()) {
    lock.unlock();
    writing_ = true;
    writer_.Write(current_, &write_tag_);
    return;
  }
  if (!ending_) return;
  grpc::Status status = end_status_;
  sub_.reset();  // unregisters from the hub
  backlog_.clear();
  live_.clear();
  lock.unlock();
  finishing_ = true;
  writer_.Finish(status, &finish_tag_);
}

void WatchStream::end_locked(grpc::Status status) {
  if (ending_) return;
  ending_ = true;
  end_status_ = std::move(status);
}

void WatchStream::tick(std::chrono::steady_clock::time_point now) {
  {
    std::lock_guard lock(mu_);
    if (!started_ || !allow_bookmarks_ || ending_ || bookmark_due_) return;
    if (now - quiet_since_ < options_.bookmark_interval) return;
    bookmark_due_ = true;
  }
  pump();
}

void WatchStream::on_write_done(bool ok) {
  writing_ = false;
  // Not ok: the client went away or the call was cancelled; nothing more can be written.
  if (!ok) return end(grpc::Status::OK);
  pump();
}

void WatchStream::on_finish_done() { finish_done_ = true; }

void WatchStream::on_call_done() {
  call_done_ = true;
  if (ctx_.IsCancelled()) end(grpc::Status::OK);
}

void WatchStream::end(grpc::Status status) {
  {
    std::lock_guard lock(mu_);
    end_locked(std::move(status));
  }
  pump();
}

}  // namespace cenv
