#include "controller/runtime/event_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include "api/json_fields.h"
#include "api/selector.h"

namespace cenv {

namespace json = boost::json;

namespace {

constexpr std::string_view kEventKind = "Event";
// Longest prefix of the object's name kept in an event's name: 52 + '-' + 10 hex digits = 63.
constexpr size_t kNamePrefix = 52;
// Longest message stored (the CRD's bound); longer ones are cut.
constexpr size_t kMaxMessage = 1024;
// Longest user stored (the CRD's bound); a longer one is cut.
constexpr size_t kMaxUser = 256;
// How often a conflicting concurrent increment is retried.
constexpr int kWriteAttempts = 4;

std::string_view type_name(EventSeverity t) {
  return t == EventSeverity::kWarning ? "Warning" : "Normal";
}

// FNV-1a, 64 bits: stable across builds and runs, unlike std::hash.
uint64_t fnv1a(std::initializer_list<std::string_view> parts) {
  uint64_t h = 14695981039346656037ULL;
  for (std::string_view p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // separator, so ("ab","c") and ("a","bc") differ
    h *= 1099511628211ULL;
  }
  return h;
}

int64_t count_of(const Object& e) {
  auto it = e.json().find("count");
  if (it == e.json().end()) return 1;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
  return 1;
}

std::string_view last_seen(const Object& e) { return Object::str_field(e.json(), "lastTimestamp"); }

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EventRecorder::EventRecorder(Client& client, const Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {
  last_sweep_ = steady_ns();
  writer_ = std::jthread([this](std::stop_token stop) { write_loop(stop); });
  if (options_.sweep_interval.count() > 0) {
    sweeper_ = std::jthread([this](std::stop_token stop) { sweep_loop(stop); });
  }
}

EventRecorder::~EventRecorder() {
  if (sweeper_.joinable()) {
    sweeper_.request_stop();
    wake_.notify_all();
    sweeper_.join();
  }
  writer_.request_stop();
  queued_.notify_all();
  writer_.join();
}

void EventRecorder::record_soon(const Object& object, EventSeverity type, std::string_view reason,
                                std::string_view message, std::string_view user) {
  if (object.kind() == kEventKind) return;
  Queued q{Object(), type, std::string(reason), std::string(message.substr(0, kMaxMessage)),
           std::string(user)};
  q.object.json()["apiVersion"] = object.api_version();
  q.object.json()["kind"] = object.kind();
  q.object.set_name(object.name());
  if (!object.ns().empty()) q.object.set_ns(object.ns());
  if (!object.uid().empty()) q.object.set_uid(object.uid());
  if (object.resource_version() > 0) q.object.set_resource_version(object.resource_version());
  {
    std::lock_guard lock(queue_mu_);
    if (queue_.size() >= options_.queue_capacity) {
      // Logged at the first drop of a burst, and every 1000th after.
      if (dropped_++ % 1000 == 0) {
        spdlog::warn("event {} about {} dropped: {} events wait to be written ({} dropped)", reason,
                     object.key().to_string(), queue_.size(), dropped_);
      }
      return;
    }
    queue_.push_back(std::move(q));
    ++pushed_;
  }
  queued_.notify_all();
}

void EventRecorder::flush() {
  std::unique_lock lock(queue_mu_);
  const uint64_t target = pushed_;
  queued_.wait(lock, [&] { return written_ >= target; });
}

void EventRecorder::write_loop(std::stop_token stop) {
  std::unique_lock lock(queue_mu_);
  for (;;) {
    queued_.wait(lock, stop, [&] { return !queue_.empty(); });
    if (queue_.empty()) return;  // stopped with nothing left
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    record(q.object, q.type, q.reason, q.message, q.user);
    lock.lock();
    ++written_;
    queued_.notify_all();
  }
}

std::string EventRecorder::event_name(const Object& object, std::string_view type,
                                      std::string_view reason, std::string_view message,
                                      std::string_view component, std::string_view user) {
  std::string prefix(object.name().substr(0, kNamePrefix));
  while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
  // Without a user the identity hashes as it did before users were recorded, so the events of
  // an upgraded controller keep aggregating.
  uint64_t h = user.empty() ? fnv1a({object.kind(), object.ns(), object.name(), object.uid(), type,
                                     reason, message, component})
                            : fnv1a({object.kind(), object.ns(), object.name(), object.uid(), type,
                                     reason, message, component, user});
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return (prefix.empty() ? std::string("event") : prefix) + "-" + std::string(hex, 10);
}

void EventRecorder::record(const Object& object, EventSeverity type, std::string_view reason,
                           std::string_view message, std::string_view user) {
  if (object.kind() == kEventKind) return;
  try {
    Status s = write(object, type_name(type), reason, message.substr(0, kMaxMessage),
                     user.substr(0, kMaxUser));
    if (!s.ok()) {
      spdlog::debug("event {} about {} dropped: {}", reason, object.key().to_string(), s.message());
    }
    maybe_expire();
  } catch (const std::exception& e) {
    // Recording is best effort: nothing a recorder meets may reach its caller.
    spdlog::warn("event {} about {} dropped: {}", reason, object.key().to_string(), e.what());
  }
}

Status EventRecorder::write(const Object& object, std::string_view type, std::string_view reason,
                            std::string_view message, std::string_view user) {
  // Events about cluster-scoped objects live in "default", as Kubernetes does.
  std::string ns = object.ns().empty() ? std::string(kDefaultNamespace) : std::string(object.ns());
  std::string name = event_name(object, type, reason, message, options_.component, user);
  std::string now = format_rfc3339(clock_.now());
  ObjectKey key{std::string(kEventKind), ns, name};
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    auto existing = client_.get(key);
    if (existing.ok()) {
      Object e = existing.value();
      e.json()["count"] = count_of(e) + 1;
      e.json()["lastTimestamp"] = now;
      auto updated = client_.update(e);  // carries resourceVersion: a racing increment conflicts
      if (updated.ok()) return Status::Ok();
      if (updated.status().code() != Code::kConflict &&
          updated.status().code() != Code::kNotFound) {
        return updated.status();
      }
      continue;
    }
    if (existing.status().code() != Code::kNotFound) return existing.status();
    Object e;
    e.json()["apiVersion"] = kApiVersion;
    e.json()["kind"] = kEventKind;
    e.set_name(name);
    e.set_ns(ns);
    if (!object.uid().empty()) {
      json::object labels;
      labels[kEventInvolvedUidLabel] = object.uid();
      e.metadata()["labels"] = std::move(labels);
    }
    json::object involved;
    involved["apiVersion"] = object.api_version().empty() ? json::string(kApiVersion)
                                                          : json::string(object.api_version());
    involved["kind"] = object.kind();
    if (!object.ns().empty()) involved["namespace"] = object.ns();
    involved["name"] = object.name();
    if (!object.uid().empty()) involved["uid"] = object.uid();
    if (object.resource_version() > 0) {
      involved["resourceVersion"] = std::to_string(object.resource_version());
    }
    e.json()["involvedObject"] = std::move(involved);
    e.json()["reason"] = reason;
    e.json()["message"] = message;
    e.json()["type"] = type;
    e.json()["count"] = 1;
    e.json()["firstTimestamp"] = now;
    e.json()["lastTimestamp"] = now;
    e.json()["source"] = json::object{{"component", options_.component}};
    e.json()["reportingController"] = options_.component;
    if (!user.empty()) e.json()["user"] = user;
    auto created = client_.create(e);
    if (created.ok()) {
      if (!object.uid().empty() && count_created(object.uid())) trim(ns, object.uid());
      return Status::Ok();
    }
    if (created.status().code() != Code::kAlreadyExists) return created.status();
    // Someone recorded the same event meanwhile: count on theirs.
  }
  return Status::Conflict("event " + name + " kept changing under " +
                          std::to_string(kWriteAttempts) + " attempts to count it");
}

void EventRecorder::recount(const std::vector<Object>& events) {
  counts_.clear();
  for (const Object& e : events) {
    const json::object* meta = e.metadata_or_null();
    const json::object* labels = meta ? object_field(*meta, "labels") : nullptr;
    std::string_view uid = string_field(labels, kEventInvolvedUidLabel);
    if (!uid.empty()) ++counts_[std::string(uid)];
  }
  counts_loaded_ = true;
}

bool EventRecorder::count_created(std::string_view uid) {
  std::lock_guard lock(counts_mu_);
  if (!counts_loaded_) {
    // Once: the listing holds the Event just created too.
    auto all = client_.list(kEventKind, "", LabelSelector{});
    if (!all.ok()) return true;  // cannot tell: look at this object's events
    recount(all->items);
    return counts_[std::string(uid)] > options_.max_per_object;
  }
  return ++counts_[std::string(uid)] > options_.max_per_object;
}

void EventRecorder::trim(const std::string& ns, std::string_view uid) {
  auto selector =
      LabelSelector::parse(std::string(kEventInvolvedUidLabel) + "=" + std::string(uid));
  if (!selector.ok()) return;
  auto list = client_.list(kEventKind, ns, selector.value());
  if (!list.ok()) return;
  {
    std::lock_guard lock(counts_mu_);
    counts_[std::string(uid)] = std::min(list->items.size(), options_.max_per_object);
  }
  if (list->items.size() <= options_.max_per_object) return;
  std::vector<Object>& events = list->items;
  std::stable_sort(events.begin(), events.end(),
                   [](const Object& a, const Object& b) { return last_seen(a) < last_seen(b); });
  size_t excess = events.size() - options_.max_per_object;
  for (size_t i = 0; i < excess; ++i) {
    Status s = client_.remove(events[i].key(), DeleteOptions{});
    if (!s.ok() && s.code() != Code::kNotFound) {
      spdlog::debug("cannot trim event {}: {}", events[i].key().to_string(), s.message());
    }
  }
}

size_t EventRecorder::expire() {
  auto list = client_.list(kEventKind, "", LabelSelector{});
  if (!list.ok()) {
    spdlog::debug("cannot list events to expire: {}", list.status().message());
    return 0;
  }
  auto cutoff = clock_.now() - options_.ttl;
  size_t removed = 0;
  std::vector<Object> kept;
  for (Object& e : list->items) {
    std::chrono::system_clock::time_point seen;
    // An event without a readable lastTimestamp is not ours to judge; keep it.
    if (!parse_rfc3339(last_seen(e), &seen) || seen >= cutoff) {
      kept.push_back(std::move(e));
      continue;
    }
    Status s = client_.remove(e.key(), DeleteOptions{});
    if (s.ok()) {
      ++removed;
    } else if (s.code() != Code::kNotFound) {
      spdlog::debug("cannot expire event {}: {}", e.key().to_string(), s.message());
    }
  }
  std::lock_guard lock(counts_mu_);
  recount(kept);
  return removed;
}

void EventRecorder::maybe_expire() {
  if (options_.sweep_interval.count() <= 0) return;
  int64_t now = steady_ns();
  int64_t last = last_sweep_.load();
  int64_t interval =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.sweep_interval).count();
  if (now - last < interval) return;
  // One caller wins the sweep; the others go on.
  if (last_sweep_.compare_exchange_strong(last, now)) expire();
}

void EventRecorder::sweep_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, stop, options_.sweep_interval, [] { return false; });
    }
    if (stop.stop_requested()) return;
    last_sweep_ = steady_ns();
    try {
      expire();
    } catch (const std::exception& e) {
      spdlog::warn("event sweep failed: {}", e.what());
    }
  }
}

}  // namespace cenv
