#include "cli/events_cmd.h"

#include <algorithm>
#include <iostream>

#include "api/clock.h"
#include "api/json_fields.h"
#include "cli/common.h"
#include "cli/printers.h"
#include "cli/table.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

constexpr const char* kEventKind = "Event";

const json::object* involved(const Object& e) { return object_field(e.json(), "involvedObject"); }

std::string_view last_seen(const Object& e) { return string_field(e.json(), "lastTimestamp"); }

// "service/web", as kubectl's OBJECT column.
std::string object_column(const Object& e) {
  const json::object* inv = involved(e);
  if (!inv) return "<unknown>";
  return lower_kind(string_field(*inv, "kind")) + "/" + std::string(string_field(*inv, "name"));
}

std::string last_seen_column(const Object& e, std::chrono::system_clock::time_point now) {
  std::chrono::system_clock::time_point t;
  if (!parse_rfc3339(last_seen(e), &t)) return "<unknown>";
  std::string age = human_age(now - t);
  if (std::optional<int64_t> count = int64_field(e.json(), "count"); count && *count > 1) {
    age += " (x" + std::to_string(*count) + " over " + [&] {
      std::chrono::system_clock::time_point first;
      return parse_rfc3339(string_field(e.json(), "firstTimestamp"), &first)
                 ? human_age(now - first)
                 : std::string("?");
    }() + ")";
  }
  return age;
}

// The filter of --for: kind and name of the involved object.
struct ForFilter {
  std::string kind;  // empty: every event
  std::string name;
  bool matches(const Object& e) const {
    if (kind.empty()) return true;
    const json::object* inv = involved(e);
    return inv && string_field(*inv, "kind") == kind && string_field(*inv, "name") == name;
  }
};

}  // namespace

void print_events(const std::vector<Object>& events, bool with_namespace, bool headers,
                  std::chrono::system_clock::time_point now, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  if (headers) {
    rows.push_back({"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"});
    if (with_namespace) rows.back().insert(rows.back().begin(), "NAMESPACE");
  }
  for (const Object& e : events) {
    rows.push_back({last_seen_column(e, now), std::string(string_field(e.json(), "type")),
                    std::string(string_field(e.json(), "reason")), object_column(e),
                    std::string(string_field(e.json(), "message"))});
    if (with_namespace) rows.back().insert(rows.back().begin(), std::string(e.ns()));
  }
  print_rows(rows, out);
}

int run_events(const Context& context, const std::string& ns_flag, const EventsFlags& flags) {
  ForFilter filter;
  std::string ns = flags.all_namespaces ? "" : (ns_flag.empty() ? "default" : ns_flag);
  if (!flags.for_object.empty()) {
    auto slash = flags.for_object.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == flags.for_object.size() ||
        flags.for_object.find('/', slash + 1) != std::string::npos) {
      print_error(Status::Invalid("--for: expected KIND/NAME (e.g. service/web), got \"" +
                                  flags.for_object + "\""),
                  false);
      return 1;
    }
    auto info = resolve_kind(flags.for_object.substr(0, slash));
    if (!info.ok()) {
      print_error(info.status().with_prefix("--for"), false);
      return 1;
    }
    filter.kind = info.value()->kind;
    filter.name = flags.for_object.substr(slash + 1);
    // Events about cluster-scoped objects live in the namespace "default".
    if (!info.value()->namespaced && !flags.all_namespaces) ns = "default";
  }
  auto client = context.connect();
  auto by_last_seen = [](const Object& a, const Object& b) { return last_seen(a) < last_seen(b); };
  if (!flags.watch) {
    auto list = client->list(kEventKind, ns, "");
    if (!list.ok()) {
      print_error(list.status());
      return 1;
    }
    std::vector<Object> events;
    for (Object& e : list->first) {
      if (filter.matches(e)) events.push_back(std::move(e));
    }
    if (events.empty()) {
      if (ns.empty()) {
        std::cerr << "No events found.\n";
      } else {
        std::cerr << "No events found in " << ns << " namespace.\n";
      }
      return 0;
    }
    std::stable_sort(events.begin(), events.end(), by_last_seen);
    print_events(events, flags.all_namespaces, !flags.no_headers, std::chrono::system_clock::now(),
                 std::cout);
    return 0;
  }
  // -w: the current events (sorted, up to the first bookmark), then each new or repeated one.
  bool initial = true;
  bool headers = !flags.no_headers;
  std::vector<Object> first;
  Status s = client->watch(kEventKind, ns, "", "", [&](const std::string& type, const Object& e) {
    auto now = std::chrono::system_clock::now();
    if (type == "BOOKMARK") {
      if (initial) {
        initial = false;
        std::stable_sort(first.begin(), first.end(), by_last_seen);
        print_events(first, flags.all_namespaces, headers, now, std::cout);
        headers = false;
        first.clear();
        std::cout.flush();
      }
      return true;
    }
    if (type == "DELETED" || !filter.matches(e)) return true;
    if (initial) {
      first.push_back(e);
      return true;
    }
    print_events({e}, flags.all_namespaces, headers, now, std::cout);
    headers = false;
    std::cout.flush();
    return true;
  });
  if (!s.ok()) {
    print_error(s);
    return 1;
  }
  return 0;
}

}  // namespace cenv::cli
