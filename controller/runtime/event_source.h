#pragma once
// EventSource: where an Informer gets its objects: a list, then a stream of the changes after
// it (DESIGN section 3, List and Watch). ApiEventSource serves it in process from ApiService
// and WatchHub; tests may use it on a temporary SqliteStore or put a fake in its place.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

// The changes of one kind after some revision, oldest first.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Waits up to `timeout` for events and returns them (empty on timeout). Gone when the
  // stream was cut off (fell behind, history compacted, server stopping): relist.
  virtual Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout) = 0;
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Every object of `kind` (as objects spell it: "Service"), in every namespace, with the
  // revision the list was read at.
  virtual Result<ObjectList> list(const std::string& kind) = 0;
  // The changes of `kind` with revision > `after`. Gone when `after` is older than the
  // compacted history.
  virtual Result<std::unique_ptr<EventStream>> watch(const std::string& kind, int64_t after) = 0;
};

}  // namespace cenv
