// Defaulting and validation of an object against its kind's OpenAPI schema (crds/). Over 800
// lines on purpose: one walker over the schema keywords cenv supports (types, formats, enums,
// patterns, bounds, lengths, items, additionalProperties, required, defaults, and cenv's own
// x-cenv-* rules: key-of, one-of groups, the map form of a list) and the Kubernetes wording of
// each error; split by keyword it would pass the same walk state between files.
// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> (std::function in the NFA
// states) when building with -fsanitize=address,undefined; the code is in libstdc++.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "api/schema_validation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <regex>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

// valijson reports schema errors by exception only with this set (otherwise it aborts).
#define VALIJSON_USE_EXCEPTIONS 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include "api/display_text.h"
#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

namespace {

// A pattern is never matched against a string longer than this many characters when the
// schema has no maxLength (std::regex recurses per character).
constexpr uint64_t kMaxPatternInput = 4096;
// Longest value quoted in an error message before it is cut.
constexpr size_t kMaxQuotedValue = 128;

// ---------------------------------------------------------------------------------------------
// Small helpers.

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// Appends a member to a field path: "spec" + "ports" = "spec.ports"; keys that are not
// identifiers are bracketed ("spec.variables[my.key]") and escaped for display, as they come
// from user input.
void append_key(std::string& path, std::string_view key) {
  if (is_identifier(key)) {
    if (!path.empty()) path += '.';
    path += key;
  } else {
    path += '[';
    path += escape_for_display(key);
    path += ']';
  }
}

void append_index(std::string& path, size_t i) {
  path += '[';
  path += std::to_string(i);
  path += ']';
}

std::string child_path(const std::string& path, std::string_view key) {
  std::string p = path;
  append_key(p, key);
  return p;
}

uint64_t utf8_length(std::string_view s) {
  uint64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// JSON text of a value for a message, cut when long.
std::string quote_value(const json::value& v) {
  std::string s = json::serialize(v);
  if (s.size() > kMaxQuotedValue) s = s.substr(0, kMaxQuotedValue) + "...";
  return s;
}

std::string quote_string(std::string_view s) { return quote_value(json::string(s)); }

std::string format_number(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
    if (ec == std::errc()) return std::string(buf, p);
  }
  return json::serialize(v);
}

const char* type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "string";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::bool_:
      return "boolean";
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::null:
      return "null";
  }
  return "unknown";
}

// "a", "a or b", "a, b or c".
std::string join_or(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RFC 3339 date-time ("2024-05-01T12:00:00Z", "...T12:00:00.5+02:00").

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool is_date_time(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  int oh, om;
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(s, i + 1, 2, oh) &&
         s[i + 3] == ':' && digits(s, i + 4, 2, om) && oh <= 23 && om <= 59;
}

// ---------------------------------------------------------------------------------------------
// Schema preparation.
//
// The CRD's openAPIV3Schema is split in two:
//  * a rewritten copy compiled by valijson: types, required, enum, bounds, lengths, counts and
//    additionalProperties (structural-schema rule: an object schema with properties rejects
//    unknown fields);
//  * a SchemaWalk tree for what valijson cannot do or does poorly: defaults, patterns (with a
//    length guard, as std::regex recurses per character), date-time formats, property-name
//    rules, the x-cenv-one-of / x-cenv-exclusive field-group rules and x-cenv-key-of (a
//    string that must name a key of the map at a path from the object's root, such as
//    Environment.spec.registry.credentialsSecret naming a key of spec.secrets).

bool drop_for_valijson(std::string_view key) {
  return key.starts_with("x-kubernetes-") || key.starts_with("x-cenv-") || key == "default" ||
         key == "pattern" || key == "format" || key == "propertyNames" || key == "nullable" ||
         key == "description" || key == "example";
}

json::value rewrite_for_valijson(const json::object& s, bool is_root) {
  json::object out;
  for (const auto& kv : s) {
    if (drop_for_valijson(kv.key())) continue;
    const json::value& v = kv.value();
    if (kv.key() == "properties" && v.is_object()) {
      json::object props;
      for (const auto& p : v.get_object()) {
        if (!p.value().is_object()) {
          props[p.key()] = p.value();
        } else if (is_root && p.key() == "metadata") {
          // metadata is validated by the API machinery, not by the schema.
          props[p.key()] = json::object{{"type", "object"}};
        } else {
          props[p.key()] = rewrite_for_valijson(p.value().get_object(), false);
        }
      }
      out[kv.key()] = std::move(props);
    } else if ((kv.key() == "items" || kv.key() == "additionalProperties") && v.is_object()) {
      out[kv.key()] = rewrite_for_valijson(v.get_object(), false);
    } else {
      out[kv.key()] = v;
    }
  }
  if (is_root) {
    // As in Kubernetes, every object may carry apiVersion, kind and metadata, declared or not.
    json::value& props = out["properties"];
    if (!props.is_object()) props = json::object();
    json::object& p = props.get_object();
    if (!p.contains("apiVersion")) p["apiVersion"] = json::object{{"type", "string"}};
    if (!p.contains("kind")) p["kind"] = json::object{{"type", "string"}};
    if (!p.contains("metadata")) p["metadata"] = json::object{{"type", "object"}};
  }
  const json::value* preserve = s.if_contains("x-kubernetes-preserve-unknown-fields");
  bool preserves = preserve && preserve->is_bool() && preserve->get_bool();
  if (out.contains("properties") && !s.contains("additionalProperties") && !preserves) {
    out["additionalProperties"] = false;
  }
  if (const json::value* nullable = s.if_contains("nullable");
      nullable && nullable->is_bool() && nullable->get_bool()) {
    if (const json::value* t = s.if_contains("type"); t && t->is_string()) {
      out["type"] = json::array{*t, "null"};
    }
  }
  return out;
}

// Hand-written matchers for the patterns the CRDs use most; std::regex is slow, and these run
// for most strings of every object. Each must accept exactly what its regex accepts.
using FastMatch = bool (*)(std::string_view);

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool match_dns_label(std::string_view s) {  // ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool match_c_identifier(std::string_view s) {
  return is_identifier(s);
}  // ^[A-Za-z_][A-Za-z0-9_]*$

bool match_absolute_path(std::string_view s) { return !s.empty() && s.front() == '/'; }  // ^/

bool match_duration(std::string_view s) {  // ^([0-9]+(ms|s|m|h))+$
  size_t i = 0;
  if (s.empty()) return false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i == s.size()) return false;
    if (s.substr(i, 2) == "ms") {
      i += 2;
    } else if (s[i] == 's' || s[i] == 'm' || s[i] == 'h') {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

FastMatch fast_matcher(std::string_view pattern) {
  if (pattern == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$") return match_dns_label;
  if (pattern == "^[A-Za-z_][A-Za-z0-9_]*$") return match_c_identifier;
  if (pattern == "^/") return match_absolute_path;
  if (pattern == "^([0-9]+(ms|s|m|h))+$") return match_duration;
  return nullptr;
}

struct PatternCheck {
  FastMatch fast = nullptr;  // used instead of `re` when set
  std::regex re;
  std::string text;     // the pattern as written
  std::string message;  // x-cenv-pattern-message, or "" for the default text
  uint64_t max_length;  // the schema's maxLength, or kMaxPatternInput
  bool bounded;         // the schema has a maxLength (which valijson checks)

  std::string failure(std::string_view value) const {
    return "Invalid value: " + quote_string(value) + ": " +
           (message.empty() ? "must match the pattern " + quote_string(text) : message);
  }
};

using FieldGroups = std::vector<std::vector<std::string>>;

struct SchemaWalk {
  // Declared properties whose null value means "absent" (Kubernetes prunes nulls of fields that
  // are not nullable before defaulting), so `image:` with no value is the same as no image.
  std::vector<std::string> drop_null;
  std::vector<std::pair<std::string, json::value>> defaults;
  std::vector<std::pair<std::string, std::unique_ptr<SchemaWalk>>> properties;
  std::unique_ptr<SchemaWalk> items;
  std::unique_ptr<SchemaWalk> values;           // additionalProperties (map values)
  std::set<std::string, std::less<>> declared;  // property names, when `values` is set
  std::unique_ptr<PatternCheck> pattern;
  bool date_time = false;
  std::unique_ptr<PatternCheck> key_pattern;  // propertyNames.pattern
  uint64_t key_max_length = 0;                // propertyNames.maxLength (0: none)
  FieldGroups one_of;                         // exactly one group set
  FieldGroups exclusive;                      // at most one group set
  std::vector<std::string> key_of;            // x-cenv-key-of, split at '.' (empty: none)
  // x-cenv-map-form {key, value} of a list: a map {K: V} given instead is rewritten to the list
  // [{key: K, value: "V"}] before anything else looks at it (empty key: not accepted).
  std::string map_form_key;
  std::string map_form_value;

  bool empty() const {
    return drop_null.empty() && defaults.empty() && properties.empty() && !items && !values &&
           !pattern && !date_time && !key_pattern && key_max_length == 0 && one_of.empty() &&
           exclusive.empty() && key_of.empty() && map_form_key.empty();
  }
};

Result<std::unique_ptr<PatternCheck>> make_pattern(const json::object& s,
                                                   const std::string& where) {
  const json::value* p = s.if_contains("pattern");
  if (!p) return std::unique_ptr<PatternCheck>();
  if (!p->is_string()) return Status::Invalid(where + ": pattern is not a string");
  auto check = std::make_unique<PatternCheck>();
  check->text = std::string(p->get_string());
  try {
    check->re = std::regex(check->text, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Status::Invalid(where + ": invalid pattern " + quote_string(check->text) + ": " +
                           e.what());
  }
  check->fast = fast_matcher(check->text);
  check->message = std::string(string_field(s, "x-cenv-pattern-message"));
  const json::value* max = s.if_contains("maxLength");
  check->bounded = max && max->is_int64() && max->get_int64() >= 0;
  check->max_length = check->bounded ? static_cast<uint64_t>(max->get_int64()) : kMaxPatternInput;
  return check;
}

Result<FieldGroups> field_groups(const json::object& s, std::string_view key,
                                 const std::string& where) {
  FieldGroups groups;
  const json::value* v = s.if_contains(key);
  if (!v) return groups;
  auto bad = [&] {
    return Status::Invalid(where + ": " + std::string(key) +
                           " must be a list of lists of field names");
  };
  if (!v->is_array()) return bad();
  for (const json::value& g : v->get_array()) {
    if (!g.is_array() || g.get_array().empty()) return bad();
    std::vector<std::string> names;
    for (const json::value& n : g.get_array()) {
      if (!n.is_string()) return bad();
      names.emplace_back(n.get_string());
    }
    groups.push_back(std::move(names));
  }
  if (groups.size() < 2) return bad();
  return groups;
}

// Builds the walk tree of schema `s` at `where` (for error messages); nullptr when nothing in the
// subtree needs walking.
Result<std::unique_ptr<SchemaWalk>> build_walk(const json::object& s, const std::string& where) {
  auto node = std::make_unique<SchemaWalk>();
  if (const json::object* props = object_field(s, "properties")) {
    for (const auto& kv : *props) {
      if (!kv.value().is_object()) continue;
      const json::object& ps = kv.value().get_object();
      const json::value* nullable = ps.if_contains("nullable");
      if (!nullable || !nullable->is_bool() || !nullable->get_bool()) {
        node->drop_null.emplace_back(kv.key());
      }
      if (const json::value* d = ps.if_contains("default")) {
        node->defaults.emplace_back(std::string(kv.key()), *d);
      }
      auto child = build_walk(ps, child_path(where, kv.key()));
      if (!child.ok()) return child.status();
      if (*child) node->properties.emplace_back(std::string(kv.key()), std::move(*child));
    }
  }
  if (const json::object* items = object_field(s, "items")) {
    auto child = build_walk(*items, where + "[*]");
    if (!child.ok()) return child.status();
    node->items = std::move(*child);
  }
  if (const json::object* add = object_field(s, "additionalProperties")) {
    auto child = build_walk(*add, where + "[*]");
    if (!child.ok()) return child.status();
    node->values = std::move(*child);
  }
  if (const json::object* names = object_field(s, "propertyNames")) {
    auto p = make_pattern(*names, where + ".propertyNames");
    if (!p.ok()) return p.status();
    node->key_pattern = std::move(*p);
    if (const json::value* max = names->if_contains("maxLength"); max && max->is_int64()) {
      node->key_max_length = static_cast<uint64_t>(std::max<int64_t>(max->get_int64(), 0));
    }
  }
  if (node->values || node->key_pattern || node->key_max_length) {
    if (const json::object* props = object_field(s, "properties")) {
      for (const auto& kv : *props) node->declared.emplace(kv.key());
    }
  }
  auto p = make_pattern(s, where);
  if (!p.ok()) return p.status();
  node->pattern = std::move(*p);
  node->date_time = string_field(s, "format") == "date-time";
  auto one_of = field_groups(s, "x-cenv-one-of", where);
  if (!one_of.ok()) return one_of.status();
  node->one_of = std::move(*one_of);
  auto exclusive = field_groups(s, "x-cenv-exclusive", where);
  if (!exclusive.ok()) return exclusive.status();
  node->exclusive = std::move(*exclusive);
  if (const json::value* k = s.if_contains("x-cenv-key-of")) {
    if (!k->is_string() || k->get_string().empty()) {
      return Status::Invalid(where + ": x-cenv-key-of must be a path such as spec.secrets");
    }
    std::string_view path(k->get_string().data(), k->get_string().size());
    for (size_t start = 0; start <= path.size();) {
      size_t dot = std::min(path.find('.', start), path.size());
      node->key_of.emplace_back(path.substr(start, dot - start));
      start = dot + 1;
    }
  }
  if (const json::value* m = s.if_contains("x-cenv-map-form")) {
    const json::object* form = m->is_object() ? &m->get_object() : nullptr;
    std::string_view key = form ? string_field(*form, "key") : std::string_view();
    std::string_view value = form ? string_field(*form, "value") : std::string_view();
    if (key.empty() || value.empty() || string_field(s, "type") != "array") {
      return Status::Invalid(where +
                             ": x-cenv-map-form must be {key: FIELD, value: FIELD} on an array");
    }
    node->map_form_key = std::string(key);
    node->map_form_value = std::string(value);
  }
  if (node->empty()) node.reset();
  return node;
}

// Applies defaults and the SchemaWalk checks to `v` (at `path`), recursively.
class Walker {
 public:
  // `root`: the whole object, which x-cenv-key-of paths start from.
  Walker(std::vector<FieldError>& errors, const json::value& root) : errors_(errors), root_(root) {}

  void walk(const SchemaWalk& node, json::value& v, std::string& path) {
    if (v.is_object() && !node.map_form_key.empty()) list_from_map(node, v, path);
    if (v.is_string()) {
      check_string(node, v.get_string(), path);
    } else if (v.is_object()) {
      walk_object(node, v.get_object(), path);
    } else if (v.is_array() && node.items) {
      json::array& a = v.get_array();
      size_t len = path.size();
      for (size_t i = 0; i < a.size(); ++i) {
        append_index(path, i);
        walk(*node.items, a[i], path);
        path.resize(len);
      }
    }
  }

 private:
  void check_string(const SchemaWalk& node, const json::string& js, const std::string& path) {
    std::string_view s(js.data(), js.size());
    if (node.pattern && !matches(*node.pattern, s)) {
      errors_.push_back({path, node.pattern->failure(s)});
    }
    if (node.date_time && !is_date_time(s)) {
      errors_.push_back(
          {path, "Invalid value: " + quote_string(s) + ": must be an RFC 3339 date-time"});
    }
    if (!node.key_of.empty() && !names_key(node.key_of, s)) {
      std::string map;
      for (const std::string& part : node.key_of) map += (map.empty() ? "" : ".") + part;
      errors_.push_back(
          {path, "Invalid value: " + quote_string(s) + ": must name a key of " + map});
    }
  }

  // Rewrites the map `v` as the list x-cenv-map-form names, in the map's order: a string value
  // is kept, a number or boolean becomes its text (8080 -> "8080", as docker compose does), null
  // leaves the value out; a map or list value is an error at path.KEY (and is left out).
  void list_from_map(const SchemaWalk& node, json::value& v, const std::string& path) {
    json::array list;
    for (const auto& kv : v.get_object()) {
      json::object item{{node.map_form_key, kv.key()}};
      const json::value& value = kv.value();
      if (value.is_structured()) {
        std::string at = path;
        append_key(at, kv.key());
        errors_.push_back({at, std::string("Invalid value: ") +
                                   (value.is_object() ? "a map" : "a list") +
                                   ": must be a string, a number or a boolean"});
        continue;
      }
      if (!value.is_null()) item[node.map_form_value] = scalar_text(value);
      list.push_back(std::move(item));
    }
    v = std::move(list);
  }

  static std::string scalar_text(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_bool()) return v.get_bool() ? "true" : "false";
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return ec == std::errc() ? std::string(buf, end) : std::string();
  }

  // Whether the object at `map_path` from the root has the key `key`.
  bool names_key(const std::vector<std::string>& map_path, std::string_view key) const {
    const json::value* at = &root_;
    for (const std::string& part : map_path) {
      at = at->is_object() ? at->get_object().if_contains(part) : nullptr;
      if (at == nullptr) return false;
    }
    return at->is_object() && at->get_object().contains(key);
  }

  static bool matches(const PatternCheck& p, std::string_view s) {
    uint64_t n = utf8_length(s);
    // Too long: maxLength (checked by valijson) already rejects it; without a maxLength, refuse
    // rather than run the regex on unbounded input.
    if (n > p.max_length) return p.bounded;
    return p.fast ? p.fast(s) : std::regex_search(s.begin(), s.end(), p.re);
  }

  void walk_object(const SchemaWalk& node, json::object& o, std::string& path) {
    for (const std::string& key : node.drop_null) {
      if (const json::value* v = o.if_contains(key); v && v->is_null()) o.erase(key);
    }
    for (const auto& [key, value] : node.defaults) {
      if (!o.contains(key)) o[key] = value;
    }
    size_t len = path.size();
    for (const auto& [key, child] : node.properties) {
      if (json::value* cv = o.if_contains(key)) {
        append_key(path, key);
        walk(*child, *cv, path);
        path.resize(len);
      }
    }
    if (node.values || node.key_pattern || node.key_max_length) {
      for (auto& kv : o) {
        if (node.declared.contains(kv.key())) continue;
        std::string_view key(kv.key().data(), kv.key().size());
        append_key(path, key);
        if (node.key_max_length && utf8_length(key) > node.key_max_length) {
          errors_.push_back({path, "Invalid value: " + quote_string(key) + ": must have at most " +
                                       std::to_string(node.key_max_length) + " characters"});
        } else if (node.key_pattern && !matches(*node.key_pattern, key)) {
          errors_.push_back({path, node.key_pattern->failure(key)});
        }
        if (node.values) walk(*node.values, kv.value(), path);
        path.resize(len);
      }
    }
    if (!node.one_of.empty()) check_groups(node.one_of, o, path, /*require_one=*/true);
    if (!node.exclusive.empty()) check_groups(node.exclusive, o, path, /*require_one=*/false);
  }

  void check_groups(const FieldGroups& groups, const json::object& o, const std::string& path,
                    bool require_one) {
    std::vector<std::string> set_fields;  // the first field set in each group that has one
    for (const auto& group : groups) {
      for (const std::string& field : group) {
        const json::value* v = o.if_contains(field);
        if (v && !v->is_null()) {
          set_fields.push_back(field);
          break;
        }
      }
    }
    if (set_fields.size() > 1) {
      errors_.push_back({path, "Forbidden: " + join_and(set_fields) + " may not be set together"});
    } else if (set_fields.empty() && require_one) {
      std::vector<std::string> names;
      for (const auto& group : groups) names.push_back(group.front());
      errors_.push_back({path, "Required value: one of " + join_or(names) + " must be set"});
    }
  }

  static std::string join_and(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += (i + 1 == items.size()) ? " and " : ", ";
      out += items[i];
    }
    return out;
  }

  std::vector<FieldError>& errors_;
  const json::value& root_;
};

// ---------------------------------------------------------------------------------------------
// valijson results to Kubernetes-style field errors.

struct Location {
  std::string path;
  const json::value* value = nullptr;    // the instance at path, nullptr if absent
  const json::object* schema = nullptr;  // the (rewritten) schema at path, nullptr if unknown
};

const json::object* schema_for_member(const json::object* schema, std::string_view key) {
  if (!schema) return nullptr;
  if (const json::object* props = object_field(schema, "properties")) {
    if (const json::object* s = object_field(props, key)) return s;
  }
  return object_field(schema, "additionalProperties");
}

// valijson's context is {"<root>", "[spec]", "[ports]", "[0]", ...}.
Location locate(const std::vector<std::string>& context, const json::value& root,
                const json::object& root_schema) {
  Location loc{"", &root, &root_schema};
  for (size_t i = 1; i < context.size(); ++i) {
    std::string_view token = context[i];
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
      token = token.substr(1, token.size() - 2);
    }
    if (loc.value && loc.value->is_array()) {
      size_t index = 0;
      bool parsed =
          std::from_chars(token.data(), token.data() + token.size(), index).ec == std::errc();
      append_index(loc.path, index);
      const json::array& a = loc.value->get_array();
      loc.value = (parsed && index < a.size()) ? &a[index] : nullptr;
      loc.schema = object_field(loc.schema, "items");
    } else {
      append_key(loc.path, token);
      loc.value = (loc.value && loc.value->is_object()) ? loc.value->get_object().if_contains(token)
                                                        : nullptr;
      loc.schema = schema_for_member(loc.schema, token);
    }
  }
  return loc;
}

// Text between the first pair of single quotes of a valijson message.
std::string quoted_name(std::string_view description) {
  size_t a = description.find('\'');
  size_t b = a == std::string_view::npos ? a : description.find('\'', a + 1);
  if (b == std::string_view::npos) return {};
  return std::string(description.substr(a + 1, b - a - 1));
}

std::string bound_message(const json::object* schema) {
  const json::value* min = schema ? schema->if_contains("minimum") : nullptr;
  const json::value* max = schema ? schema->if_contains("maximum") : nullptr;
  auto flag = [&](const char* key) {
    const json::value* v = schema ? schema->if_contains(key) : nullptr;
    return v && v->is_bool() && v->get_bool();
  };
  bool xmin = flag("exclusiveMinimum");
  bool xmax = flag("exclusiveMaximum");
  if (min && max && min->is_number() && max->is_number() && !xmin && !xmax) {
    return "must be between " + format_number(*min) + " and " + format_number(*max);
  }
  return {};
}

// The message of valijson's "Expected number less/greater than ..." `d` for schema `s`:
// "must be between 1 and 65535" when both bounds are inclusive, else the one bound broken.
std::string number_bound_message(const std::string& d, const json::object* s) {
  std::string both = bound_message(s);
  if (!both.empty()) return both;
  // "Expected number less than or equal to 5" -> "must be less than or equal to 5".
  bool less = d.starts_with("Expected number less than");
  bool or_equal = d.find("or equal") != std::string::npos;
  const char* key = less ? "maximum" : "minimum";
  if (!or_equal) {
    // Draft 7 numeric exclusiveMaximum/exclusiveMinimum, or draft 4 style boolean flags.
    const char* exclusive = less ? "exclusiveMaximum" : "exclusiveMinimum";
    if (const json::value* x = s ? s->if_contains(exclusive) : nullptr; x && x->is_number()) {
      key = exclusive;
    }
  }
  const json::value* v = s ? s->if_contains(key) : nullptr;
  std::string bound = v ? format_number(*v) : std::string("?");
  return std::string("must be ") + (less ? "less than " : "greater than ") +
         (or_equal ? "or equal to " : "") + bound;
}

// Appends to `out` the field errors of valijson error `e` about `root`, worded as Kubernetes
// words them; wrappers that only say a child failed add nothing (the child reports itself).
void convert_error(const valijson::ValidationResults::Error& e, const json::value& root,
                   const json::object& root_schema, std::vector<FieldError>& out) {
  const std::string& d = e.description;
  // Wrappers that only say a child failed; the child's own error is reported.
  if (d.starts_with("Failed to validate against schema associated with") ||
      d.starts_with("Failed to validate item #") ||
      d.starts_with("Failed to validate against additional properties schema") ||
      d.starts_with("Failed to validate against any ") ||
      d.starts_with("Failed to validate against child schema") ||
      d.starts_with("Failed to validate against dependent schema")) {
    return;
  }
  Location loc = locate(e.context, root, root_schema);
  const json::object* s = loc.schema;
  auto count_limit = [&](const char* key) {
    const json::value* v = s ? s->if_contains(key) : nullptr;
    return v ? format_number(*v) : std::string("?");
  };

  if (d.starts_with("Missing required property")) {
    out.push_back({child_path(loc.path, quoted_name(d)), "Required value"});
  } else if (d.starts_with("Object contains a property that could not be validated")) {
    // valijson names only the first unknown field; report them all.
    const json::object* props = object_field(s, "properties");
    if (loc.value && loc.value->is_object()) {
      for (const auto& kv : loc.value->get_object()) {
        if (!props || !props->contains(kv.key())) {
          out.push_back({child_path(loc.path, kv.key()), "unknown field"});
        }
      }
    } else {
      out.push_back({child_path(loc.path, quoted_name(d)), "unknown field"});
    }
  } else if (d.starts_with("Missing dependency")) {
    std::string missing = quoted_name(d);
    std::string because;
    if (const json::object* deps = object_field(s, "dependencies");
        deps && loc.value && loc.value->is_object()) {
      for (const auto& kv : *deps) {
        if (!loc.value->get_object().contains(kv.key()) || !kv.value().is_array()) continue;
        for (const json::value& n : kv.value().get_array()) {
          if (n.is_string() && n.get_string() == missing) because = std::string(kv.key());
        }
        if (!because.empty()) break;
      }
    }
    out.push_back({child_path(loc.path, missing),
                   because.empty() ? "Required value"
                                   : "Required value: required when " + because + " is set"});
  } else if (d.starts_with("Failed to match against any enum values")) {
    std::string supported;
    if (const json::value* en = s ? s->if_contains("enum") : nullptr; en && en->is_array()) {
      for (const json::value& v : en->get_array()) {
        if (!supported.empty()) supported += ", ";
        supported += quote_value(v);
      }
    }
    std::string given = loc.value ? quote_value(*loc.value) : "null";
    out.push_back({loc.path, "Unsupported value: " + given + ": supported values: " + supported});
  } else if (d.starts_with("Value type not permitted")) {
    std::string expected;
    if (const json::value* t = s ? s->if_contains("type") : nullptr) {
      if (t->is_string()) {
        expected = std::string(t->get_string());
      } else if (t->is_array()) {
        std::vector<std::string> names;
        for (const json::value& n : t->get_array()) {
          if (n.is_string()) names.emplace_back(n.get_string());
        }
        expected = join_or(names);
      }
    }
    std::string given = loc.value ? type_name(*loc.value) : "null";
    if (loc.value && loc.value->is_uint64() && expected.find("integer") != std::string::npos) {
      // Above INT64_MAX: an integer, but not one cenv stores.
      out.push_back({loc.path, "Invalid value: " + format_number(*loc.value) +
                                   ": must be less than or equal to 9223372036854775807"});
    } else {
      out.push_back({loc.path, "Invalid value: \"" + given + "\": expected " + expected});
    }
  } else if (d.starts_with("Expected number less than") ||
             d.starts_with("Expected number greater than")) {
    out.push_back({loc.path, number_bound_message(d, s)});
  } else if (d.starts_with("String should be no more than")) {
    out.push_back({loc.path, "must have at most " + count_limit("maxLength") + " characters"});
  } else if (d.starts_with("String should be no fewer than")) {
    out.push_back({loc.path, "must have at least " + count_limit("minLength") + " characters"});
  } else if (d.starts_with("Array should contain no more than")) {
    out.push_back({loc.path, "must have at most " + count_limit("maxItems") + " items"});
  } else if (d.starts_with("Array should contain no fewer than")) {
    out.push_back({loc.path, "must have at least " + count_limit("minItems") + " items"});
  } else if (d.starts_with("Object should have no more than")) {
    out.push_back({loc.path, "must have at most " + count_limit("maxProperties") + " entries"});
  } else if (d.starts_with("Object should have no fewer than")) {
    out.push_back({loc.path, "must have at least " + count_limit("minProperties") + " entries"});
  } else {
    out.push_back({loc.path, d});
  }
}

// `errors` sorted by path (stable: errors of one path keep their order), without repeats.
std::vector<FieldError> sorted_unique(std::vector<FieldError> errors) {
  std::stable_sort(errors.begin(), errors.end(),
                   [](const FieldError& a, const FieldError& b) { return a.path < b.path; });
  std::vector<FieldError> unique;
  for (FieldError& e : errors) {
    // Duplicates share a path, so they sit within the run of equal paths just added.
    bool seen = false;
    for (auto it = unique.rbegin(); it != unique.rend() && it->path == e.path; ++it) {
      seen = seen || it->message == e.message;
    }
    if (!seen) unique.push_back(std::move(e));
  }
  return unique;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct CompiledKind {
  json::object schema;  // the rewritten schema valijson compiled; used to word errors
  valijson::Schema validator_schema;
  std::unique_ptr<SchemaWalk> walk;  // nullptr when there is nothing to default or check
};

namespace {

Result<std::unique_ptr<CompiledKind>> compile_kind(const KindInfo& info) {
  auto c = std::make_unique<CompiledKind>();
  c->schema = rewrite_for_valijson(info.schema, /*is_root=*/true).get_object();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    json::value doc(c->schema);
    valijson::adapters::BoostJsonAdapter adapter(doc);
    parser.populateSchema(adapter, c->validator_schema);
  } catch (const std::exception& e) {
    return Status::Invalid("schema of " + info.kind + " does not compile: " + e.what());
  }
  auto walk = build_walk(info.schema, "");
  if (!walk.ok()) return walk.status().with_prefix("schema of " + info.kind);
  c->walk = std::move(*walk);
  return c;
}

}  // namespace

SchemaValidator::SchemaValidator(const std::vector<KindInfo>& kinds)
    : kinds_(kinds), slots_(kinds.size()) {}

SchemaValidator::~SchemaValidator() = default;

Status SchemaValidator::check_compiles(const KindInfo& info) {
  Result<std::unique_ptr<CompiledKind>> compiled = compile_kind(info);
  return compiled.ok() ? Status::Ok() : compiled.status();
}

const CompiledKind* SchemaValidator::compiled(size_t index, Status* error) const {
  Slot& slot = slots_[index];
  std::call_once(slot.once, [&] {
    auto compiled = compile_kind(kinds_[index]);
    if (compiled.ok()) {
      slot.compiled = std::move(compiled.value());
    } else {
      slot.error = compiled.status();
    }
  });
  if (!slot.compiled) *error = slot.error;
  return slot.compiled.get();
}

size_t SchemaValidator::check_identity(const Object& obj, std::vector<FieldError>& errors) const {
  const json::value* api_version = obj.json().if_contains("apiVersion");
  if (!api_version) {
    errors.push_back({"apiVersion", "Required value"});
  } else if (!api_version->is_string() || api_version->get_string() != kApiVersion) {
    errors.push_back({"apiVersion", "Unsupported value: " + quote_value(*api_version) +
                                        ": supported values: \"" + std::string(kApiVersion) +
                                        "\""});
  }
  std::string_view kind = obj.kind();
  size_t index = kinds_.size();
  for (size_t i = 0; i < kinds_.size(); ++i) {
    if (kinds_[i].kind == kind) index = i;
  }
  const json::value* kind_value = obj.json().if_contains("kind");
  if (!kind_value) {
    errors.push_back({"kind", "Required value"});
  } else if (index == kinds_.size()) {
    std::vector<std::string> names;
    for (const KindInfo& k : kinds_) names.push_back(k.kind);
    std::sort(names.begin(), names.end());
    std::string supported;
    for (const std::string& n : names) supported += (supported.empty() ? "\"" : ", \"") + n + "\"";
    errors.push_back({"kind", "Unsupported value: " + quote_value(*kind_value) +
                                  ": supported values: " + supported});
  }
  return index;
}

Status SchemaValidator::default_and_validate(Object& obj) const {
  std::vector<FieldError> errors;
  std::string_view kind = obj.kind();
  std::string_view name = obj.name().empty() ? obj.generate_name() : obj.name();
  std::string title = (kind.empty() ? std::string("object") : escape_for_display(kind)) + " \"" +
                      escape_for_display(name) + "\" is invalid";

  size_t index = check_identity(obj, errors);
  if (index == kinds_.size()) return Status::Invalid(title, std::move(errors));
  Status compile_error;
  const CompiledKind* compiled_kind = compiled(index, &compile_error);
  if (!compiled_kind) {
    return Status::Internal("schema of " + kinds_[index].kind +
                            " does not compile: " + compile_error.message());
  }
  const CompiledKind& compiled = *compiled_kind;

  // Work on a json::value that owns the object's storage (a move, not a copy), as the valijson
  // adapter wants a value; the object gets its storage back on every path out.
  json::value doc(std::move(obj.json()));
  struct Restore {
    Object& obj;
    json::value& doc;
    ~Restore() { obj.json() = std::move(doc.get_object()); }
  } restore{obj, doc};

  if (compiled.walk) {
    std::string path;
    Walker(errors, doc).walk(*compiled.walk, doc, path);
  }

  valijson::ValidationResults results;
  bool valid = false;
  try {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::adapters::BoostJsonAdapter adapter(doc);
    valid = validator.validate(compiled.validator_schema, adapter, &results);
  } catch (const std::exception& e) {
    errors.push_back({"", std::string("schema validation failed: ") + e.what()});
  }
  if (!valid) {
    valijson::ValidationResults::Error e;
    while (results.popError(e)) convert_error(e, doc, compiled.schema, errors);
    if (errors.empty())
      errors.push_back({"", "does not match the schema of " + kinds_[index].kind});
  }
  if (errors.empty()) return Status::Ok();
  return Status::Invalid(title, sorted_unique(std::move(errors)));
}

}  // namespace cenv
