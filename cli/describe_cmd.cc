#include "cli/describe_cmd.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "api/clock.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/yaml_codec.h"
#include "cli/common.h"
#include "cli/printers.h"
#include "cli/table.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

void print_map(const char* title, const json::object* meta, std::string_view key,
               std::ostream& out) {
  out << title;
  const json::object* m = object_field(meta, key);
  if (!m || m->empty()) {
    out << "<none>\n";
    return;
  }
  bool first = true;
  for (const auto& kv : *m) {
    if (!first) out << std::string(14, ' ');
    out << escape_for_display(kv.key()) << "="
        << escape_for_display(kv.value().is_string() ? std::string(kv.value().get_string())
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
    if (const json::array* finalizers = array_field(*meta, "finalizers");
        finalizers && !finalizers->empty()) {
      out << "  Finalizers:  " << json::serialize(*finalizers) << "\n";
    }
    if (const json::array* refs = array_field(*meta, "ownerReferences"); refs && !refs->empty()) {
      out << "  Owner References:\n";
      for (const auto& ref : *refs) {
        if (!ref.is_object()) continue;
        out << "    " << string_field(ref.get_object(), "kind") << "/"
            << string_field(ref.get_object(), "name") << " (uid "
            << string_field(ref.get_object(), "uid") << ")\n";
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
  print_conditions(status, now, out);
  out << "Events:";
  if (events.empty()) {
    out << "  <none>\n";
    return;
  }
  out << "\n";
  std::vector<const Object*> sorted;
  for (const auto& e : events) sorted.push_back(&e);
  auto last_ts = [](const Object* e) {
    return std::string(string_field(e->json(), "lastTimestamp"));
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Object* a, const Object* b) { return last_ts(a) < last_ts(b); });
  std::vector<std::vector<std::string>> rows = {{"Type", "Reason", "Age", "From", "Message"},
                                                {"----", "------", "---", "----", "-------"}};
  for (const Object* e : sorted) {
    const json::object& o = e->json();
    std::string age = age_of(string_field(o, "lastTimestamp"), now);
    if (std::optional<int64_t> count = int64_field(o, "count"); count && *count > 1) {
      age += " (x" + std::to_string(*count) + ")";
    }
    std::string from(string_field(object_field(o, "source"), "component"));
    rows.push_back({escape_for_display(string_field(o, "type")),
                    escape_for_display(string_field(o, "reason")), age, escape_for_display(from),
                    escape_for_display(string_field(o, "message"))});
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
          const json::object* inv = object_field(e.json(), "involvedObject");
          if (inv && string_field(*inv, "uid") == obj->uid()) events.push_back(std::move(e));
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
