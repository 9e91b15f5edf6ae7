#include "cli/printers.h"

#include <algorithm>

#include "api/clock.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/jsonpath.h"
#include "api/yaml_codec.h"
#include "cli/table.h"

namespace cenv::cli {

namespace json = boost::json;

Result<OutputFormat> parse_output_format(const std::string& text) {
  if (text.empty()) return OutputFormat::kTable;
  if (text == "wide") return OutputFormat::kWide;
  if (text == "yaml") return OutputFormat::kYaml;
  if (text == "json") return OutputFormat::kJson;
  if (text == "name") return OutputFormat::kName;
  return Status::Invalid("unable to match a printer suitable for the output format \"" + text +
                         "\", allowed formats are: json, name, wide, yaml");
}

std::string human_age(std::chrono::system_clock::duration d) {
  using namespace std::chrono;
  auto secs = duration_cast<seconds>(d).count();
  if (secs < 0) secs = 0;
  long long m = secs / 60, h = secs / 3600, days = secs / 86400;
  auto s = [](long long v) { return std::to_string(v); };
  if (secs < 120) return s(secs) + "s";
  if (m < 10) return s(m) + "m" + (secs % 60 ? s(secs % 60) + "s" : "");
  if (m < 180) return s(m) + "m";
  if (h < 8) return s(h) + "h" + (m % 60 ? s(m % 60) + "m" : "");
  if (h < 48) return s(h) + "h";
  if (h < 24 * 8) return s(days) + "d" + (h % 24 ? s(h % 24) + "h" : "");
  if (days < 365 * 2) return s(days) + "d";
  if (days < 365 * 8) {
    return s(days / 365) + "y" + ((days % 365) ? s(days % 365) + "d" : "");
  }
  return s(days / 365) + "y";
}

std::string age_of(std::string_view ts, std::chrono::system_clock::time_point now) {
  std::chrono::system_clock::time_point t;
  return parse_rfc3339(ts, &t) ? human_age(now - t) : "<unknown>";
}

void print_conditions(const json::object* status, std::chrono::system_clock::time_point now,
                      std::ostream& out) {
  out << "Conditions:";
  const json::array* conds = array_field(status, "conditions");
  if (!conds || conds->empty()) {
    out << "  <none>\n";
    return;
  }
  out << "\n";
  std::vector<std::vector<std::string>> rows = {{"Type", "Status", "Reason", "Age", "Message"},
                                                {"----", "------", "------", "---", "-------"}};
  for (const auto& c : *conds) {
    if (!c.is_object()) continue;
    const json::object& o = c.get_object();
    rows.push_back({escape_for_display(string_field(o, "type")),
                    escape_for_display(string_field(o, "status")),
                    escape_for_display(string_field(o, "reason")),
                    age_of(string_field(o, "lastTransitionTime"), now),
                    escape_for_display(string_field(o, "message"))});
  }
  print_rows(rows, out, {.indent = "  ", .gap = 2});
}

std::string object_ref(std::string_view kind, std::string_view name) {
  return escape_for_display(lower_kind(kind) + "/" + std::string(name));
}

std::string object_ref(const Object& o) { return object_ref(o.kind(), o.name()); }

void print_table(const KindInfo& kind, const std::vector<Object>& objects,
                 const TableOptions& options, std::chrono::system_clock::time_point now,
                 std::ostream& out) {
  std::vector<const PrinterColumn*> columns;
  std::vector<JsonPath> paths;
  for (const PrinterColumn& c : kind.columns) {
    if (c.priority > 0 && !options.wide) continue;
    auto p = JsonPath::parse(c.json_path);
    if (!p.ok()) continue;  // crds/ are tested; a bad path is skipped rather than fatal
    columns.push_back(&c);
    paths.push_back(std::move(p.value()));
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  if (options.with_namespace && kind.namespaced) header.push_back("NAMESPACE");
  header.push_back("NAME");
  for (const PrinterColumn* c : columns) {
    std::string h = c->name;
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return std::toupper(ch); });
    header.push_back(h);
  }
  header.push_back("AGE");
  if (options.headers) rows.push_back(header);
  for (const Object& o : objects) {
    std::vector<std::string> row;
    if (options.with_namespace && kind.namespaced) row.emplace_back(o.ns());
    row.push_back(options.with_kind_prefix ? object_ref(o) : std::string(o.name()));
    json::value root(o.json());
    for (size_t i = 0; i < paths.size(); ++i) {
      std::string cell;
      for (const json::value* v : paths[i].eval(root)) {
        if (!cell.empty()) cell += ",";
        // An integer column over a list counts its items (e.g. an Environment's modules).
        if (columns[i]->type == "integer" && v->is_array()) {
          cell += std::to_string(v->get_array().size());
        } else {
          cell += jsonpath_text(*v);
        }
      }
      // As kubectl, a date column shows how long ago it was.
      std::chrono::system_clock::time_point at;
      if (columns[i]->type == "date" && parse_rfc3339(cell, &at)) cell = human_age(now - at);
      row.push_back(cell.empty() ? "<none>" : cell);
    }
    std::chrono::system_clock::time_point created;
    const json::object* meta = o.metadata_or_null();
    std::string_view ts = meta ? Object::str_field(*meta, "creationTimestamp") : "";
    row.push_back(parse_rfc3339(ts, &created) ? human_age(now - created) : "<unknown>");
    rows.push_back(std::move(row));
  }
  print_rows(rows, out);
}

void print_objects(const std::vector<Object>& objects, bool as_list, OutputFormat format,
                   std::ostream& out) {
  json::value v;
  if (as_list) {
    json::array items;
    for (const Object& o : objects) items.push_back(o.json());
    v = json::object{{"apiVersion", "v1"},
                     {"kind", "List"},
                     {"items", std::move(items)},
                     {"metadata", json::object{{"resourceVersion", ""}}}};
  } else if (!objects.empty()) {
    v = objects.front().json();
  }
  if (format == OutputFormat::kJson) {
    out << to_json_text(v, /*pretty=*/true);
  } else {
    out << to_yaml(v);
  }
}

}  // namespace cenv::cli
