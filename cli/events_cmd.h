#pragma once
// `cenv events`: the Events of a namespace (or of one object), oldest first, as
// `kubectl events` prints them: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "api/object.h"
#include "cli/context.h"

namespace cenv::cli {

struct EventsFlags {
  bool all_namespaces = false;  // -A: every namespace, with a NAMESPACE column
  std::string for_object;       // --for KIND/NAME: only events about that object
  bool watch = false;           // -w: after listing, print events as they happen
  bool no_headers = false;
};

// Writes `events` (sorted by lastTimestamp by the caller) as a table; `headers` prints the
// header row first.
void print_events(const std::vector<Object>& events, bool with_namespace, bool headers,
                  std::chrono::system_clock::time_point now, std::ostream& out);

// Runs `cenv events`; returns the exit code.
int run_events(const Context& context, const std::string& ns, const EventsFlags& flags);

}  // namespace cenv::cli
