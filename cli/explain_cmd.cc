#include "cli/explain_cmd.h"

#include <algorithm>
#include <sstream>

#include "api/display_text.h"
#include "api/json_fields.h"
#include "cli/common.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

bool is_required(const json::object& parent, std::string_view field) {
  const json::array* required = array_field(parent, "required");
  if (!required) return false;
  for (const auto& r : *required) {
    if (r.is_string() && r.get_string() == field) return true;
  }
  return false;
}

// The schema that describes the members of `schema` (its items for an array).
const json::object* element(const json::object& schema) {
  if (string_field(schema, "type") == "array") {
    if (const json::object* items = object_field(schema, "items")) return items;
  }
  return &schema;
}

void wrap(const std::string& text, const std::string& indent, std::ostream& out) {
  std::istringstream words(text);
  std::string word, line;
  for (;;) {
    bool more = static_cast<bool>(words >> word);
    if (!more || (!line.empty() && line.size() + word.size() + 1 > 80)) {
      if (!line.empty()) out << indent << line << "\n";
      line.clear();
      if (!more) break;
    }
    line += (line.empty() ? "" : " ") + word;
  }
}

std::string extras(const json::object& schema) {
  std::string out;
  if (const json::array* values = array_field(schema, "enum")) {
    out += "Possible values: ";
    bool first = true;
    for (const auto& v : *values) {
      out += (first ? "" : ", ") + json::serialize(v);
      first = false;
    }
    out += ". ";
  }
  // A default of null is still printed, so not value_field (which reads null as absent).
  if (auto it = schema.find("default"); it != schema.end()) {
    out += "Default: " + json::serialize(it->value()) + ".";
  }
  return out;
}

void print_fields(const json::object& schema, int depth, bool recursive, std::ostream& out) {
  const json::object* props = object_field(schema, "properties");
  if (!props) return;
  std::vector<std::string> names;
  for (const auto& kv : *props) names.emplace_back(kv.key());
  std::sort(names.begin(), names.end());
  std::string indent(3 + depth * 2, ' ');
  for (const auto& name : names) {
    const json::value& v = props->at(name);
    if (!v.is_object()) continue;
    const json::object& field = v.get_object();
    out << indent << name << "\t" << schema_type_name(field)
        << (is_required(schema, name) ? " -required-" : "") << "\n";
    if (recursive) {
      print_fields(*element(field), depth + 1, true, out);
      continue;
    }
    std::string desc(string_field(field, "description"));
    std::string more = extras(field);
    if (!more.empty()) desc += (desc.empty() ? "" : " ") + more;
    wrap(desc.empty() ? "<no description>" : desc, indent + "  ", out);
    out << "\n";
  }
}

}  // namespace

std::string schema_type_name(const json::object& schema) {
  std::string_view type = string_field(schema, "type");
  if (type == "array") {
    const json::object* items = object_field(schema, "items");
    std::string inner = items ? schema_type_name(*items) : "<Object>";
    return "<[]" + inner.substr(1);
  }
  if (type == "object") {
    if (const json::object* ap = object_field(schema, "additionalProperties");
        ap && !object_field(schema, "properties")) {
      std::string inner = schema_type_name(*ap);
      return "<map[string]" + inner.substr(1);
    }
    return "<Object>";
  }
  if (type.empty()) return "<Object>";
  return "<" + std::string(type) + ">";
}

Status explain(const KindRegistry& kinds, const std::string& path, bool recursive,
               std::ostream& out) {
  std::vector<std::string> parts = split(path, '.');
  if (parts.empty()) return Status::Invalid("you must specify the type of resource to explain");
  const KindInfo* info = kinds.find(parts[0]);
  if (!info) {
    return Status::NotFound("the server doesn't have a resource type \"" +
                            escape_for_display(parts[0]) + "\"");
  }
  const json::object* schema = &info->schema;
  std::string field_name;
  for (size_t i = 1; i < parts.size(); ++i) {
    const json::object* container = element(*schema);
    const json::object* props = object_field(*container, "properties");
    const json::object* next = object_field(props, parts[i]);
    if (!next) {
      return Status::NotFound("field \"" + parts[i] + "\" does not exist in " + info->kind +
                              (i > 1 ? "." : "") + [&] {
                                std::string p;
                                for (size_t j = 1; j < i; ++j) p += (j > 1 ? "." : "") + parts[j];
                                return p;
                              }());
    }
    schema = next;
    field_name = parts[i];
  }
  out << "KIND:     " << info->kind << "\n";
  out << "VERSION:  " << kApiVersion << "\n\n";
  if (!field_name.empty()) {
    out << "FIELD: " << field_name << " " << schema_type_name(*schema) << "\n\n";
  }
  out << "DESCRIPTION:\n";
  std::string desc(string_field(*schema, "description"));
  std::string more = extras(*schema);
  if (!more.empty()) desc += (desc.empty() ? "" : " ") + more;
  wrap(desc.empty() ? "<empty>" : desc, "     ", out);
  const json::object* fields = element(*schema);
  if (object_field(*fields, "properties")) {
    out << "\nFIELDS:\n";
    print_fields(*fields, 0, recursive, out);
  }
  return Status::Ok();
}

}  // namespace cenv::cli
