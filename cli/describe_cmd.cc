#include "cli/describe_cmd.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "api/clock.h"
#include "api/yaml_codec.h"
#include "cli/common.h"
#include "cli/printers.h"
#include "cli/table.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

std::string_view str(const json::object& o, std::string_view key) {
  return Object::str_field(o, key);
}

void print_map(const char* title, const json::object* meta, std::string_view key,
               std::ostream& out) {
  out << title;
  const json::object* m = nullptr;
  if (meta) {
    if (auto it = meta->find(key); it != meta->end() && it->value().is_object()) {
      m = &it->value().get_object();
    }
  }
  if (!m || m->empty()) {
    out << "<none>\n";
    return;
  }
  bool first = true;
  for (const auto& kv : *m) {
    if (!first) out << std::string(14, ' ');
    out << kv.key() << "="
        << (kv.value().is_string() ? std::string(kv.value().get_string())
                                   : json::serialize(kv.value()))
        << "\n";
    first = false;
  }
}

void print_block(const char* title, const json::value& v, std::ostream& out) {
  out << title << ":\n";
  std::istringstream lines(to_yaml(v));
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
}

std::string age_of(std::string_view ts, std::chrono::system_clock::time_point now) {
  std::chrono::system_clock::time_point t;
  return parse_rfc3339(ts, &t) ? human_age(now - t) : "<unknown>";
}

}  // namespace

void describe_object(const Object& object, const std::vector<Object>& events,
                     std::chrono::system_clock::time_point now, std::ostream& out) {
  const json::object* meta = object.metadata_or_null();
  out << "Name:         " << object.name() << "\n";
  if (!object.ns().empty()) out << "Namespace:    " << object.ns() << "\n";
  print_map("Labels:       ", meta, "labels", out);
  print_map("Annotations:  ", meta, "annotations", out);
  out << "API Version:  " << object.api_version() << "\n";
  out << "Kind:         " << object.kind() << "\n";
  if (meta) {
    std::vector<std::vector<std::string>> rows;
    for (std::string_view k :
         {"creationTimestamp", "deletionTimestamp", "generation", "resourceVersion", "uid"}) {
      auto it = meta->find(k);
      if (it == meta->end()) continue;
      std::string v = it->value().is_string() ? std::string(it->value().get_string())
                                              : json::serialize(it->value());
      static const std::map<std::string_view, std::string> kTitles = {
          {"creationTimestamp", "Creation Timestamp:"},
          {"deletionTimestamp", "Deletion Timestamp:"},
          {"generation", "Generation:"},
          {"resourceVersion", "Resource Version:"},
          {"uid", "UID:"}};
      rows.push_back({kTitles.at(k), v});
    }
    out << "Metadata:\n";
    print_rows(rows, out, {.indent = "  ", .gap = 2});
    if (auto it = meta->find("finalizers");
        it != meta->end() && it->value().is_array() && !it->value().get_array().empty()) {
      out << "  Finalizers:  " << json::serialize(it->value()) << "\n";
    }
    if (auto it = meta->find("ownerReferences");
        it != meta->end() && it->value().is_array() && !it->value().get_array().empty()) {
      out << "  Owner References:\n";
      for (const auto& ref : it->value().get_array()) {
        if (!ref.is_object()) continue;
        out << "    " << str(ref.get_object(), "kind") << "/" << str(ref.get_object(), "name")
            << " (uid " << str(ref.get_object(), "uid") << ")\n";
      }
    }
  }
  if (const json::object* spec = object.spec_or_null()) print_block("Spec", *spec, out);
  const json::object* status = object.status_or_null();
  if (status) {
    json::object rest = *status;
    rest.erase("conditions");
    if (!rest.empty()) print_block("Status", rest, out);
  }
  out << "Conditions:";
  const json::array* conds = nullptr;
  if (status) {
    if (auto it = status->find("conditions"); it != status->end() && it->value().is_array()) {
      conds = &it->value().get_array();
    }
  }
  if (!conds || conds->empty()) {
    out << "  <none>\n";
  } else {
    out << "\n";
    std::vector<std::vector<std::string>> rows = {{"Type", "Status", "Reason", "Age", "Message"},
                                                  {"----", "------", "------", "---", "-------"}};
    for (const auto& c : *conds) {
      if (!c.is_object()) continue;
      const json::object& o = c.get_object();
      rows.push_back({std::string(str(o, "type")), std::string(str(o, "status")),
                      std::string(str(o, "reason")), age_of(str(o, "lastTransitionTime"), now),
                      std::string(str(o, "message"))});
    }
    print_rows(rows, out, {.indent = "  ", .gap = 2});
  }
  out << "Events:";
  if (events.empty()) {
    out << "  <none>\n";
    return;
  }
  out << "\n";
  std::vector<const Object*> sorted;
  for (const auto& e : events) sorted.push_back(&e);
  auto last_ts = [](const Object* e) { return std::string(str(e->json(), "lastTimestamp")); };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Object* a, const Object* b) { return last_ts(a) < last_ts(b); });
  std::vector<std::vector<std::string>> rows = {{"Type", "Reason", "Age", "From", "Message"},
                                                {"----", "------", "---", "----", "-------"}};
  for (const Object* e : sorted) {
    const json::object& o = e->json();
    std::string age = age_of(str(o, "lastTimestamp"), now);
    auto count = o.find("count");
    if (count != o.end() && count->value().is_int64() && count->value().get_int64() > 1) {
      age += " (x" + std::to_string(count->value().get_int64()) + ")";
    }
    std::string from;
    if (auto src = o.find("source"); src != o.end() && src->value().is_object()) {
      from = std::string(str(src->value().get_object(), "component"));
    }
    rows.push_back({std::string(str(o, "type")), std::string(str(o, "reason")), age, from,
                    std::string(str(o, "message"))});
  }
  print_rows(rows, out, {.indent = "  ", .gap = 2});
}

int run_describe(const Context& context, const std::string& ns_flag,
                 const std::vector<std::string>& args) {
  auto refs = resolve_refs(args);
  if (!refs.ok()) {
    print_error(refs.status(), false);
    return 1;
  }
  std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto client = context.connect();
  const KindInfo* event_kind = registry().find("Event");
  int rc = 0;
  bool first = true;
  for (const ObjectRef& ref : refs.value()) {
    auto obj = client->get(ref.kind->kind, ref.kind->namespaced ? ns : "", ref.name);
    if (!obj.ok()) {
      print_error(obj.status());
      rc = 1;
      continue;
    }
    std::vector<Object> events;
    if (event_kind) {
      // Events about a cluster-scoped object live in the namespace "default".
      std::string event_ns = ref.kind->namespaced ? ns : "default";
      auto list = client->list(event_kind->kind, event_ns, "");
      if (list.ok()) {
        for (auto& e : list->first) {
          auto it = e.json().find("involvedObject");
          if (it == e.json().end() || !it->value().is_object()) continue;
          const auto& inv = it->value().get_object();
          if (Object::str_field(inv, "uid") == obj->uid()) events.push_back(std::move(e));
        }
      }
    }
    if (!first) std::cout << "\n\n";
    first = false;
    describe_object(obj.value(), events, std::chrono::system_clock::now(), std::cout);
  }
  return rc;
}

}  // namespace cenv::cli
