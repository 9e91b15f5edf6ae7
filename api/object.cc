#include "api/object.h"

#include <cctype>
#include <charconv>

#include "api/json_fields.h"
#include "api/json_text.h"
#include "api/limits.h"

namespace cenv {

namespace json = boost::json;

std::string ObjectKey::to_string() const {
  if (ns.empty()) return kind + "/" + name;
  return kind + " " + ns + "/" + name;
}

Result<Object> Object::from_json(std::string_view text) {
  return from_json(text, json::storage_ptr());
}

Result<Object> Object::from_json(std::string_view text, json::storage_ptr storage) {
  if (text.size() > kMaxObjectBytes) {
    return Status::Invalid("object is " + std::to_string(text.size()) +
                           " bytes of JSON, larger than the limit of " +
                           std::to_string(kMaxObjectBytes) + " bytes");
  }
  json::error_code ec;
  auto v = parse_json_text(text, kMaxNestingDepth, &ec, std::move(storage));
  if (ec == json::error::too_deep) {
    return Status::Invalid("object nests deeper than the limit of " +
                           std::to_string(kMaxNestingDepth) + " levels");
  }
  if (!v.ok()) return v.status().with_prefix("object is not valid JSON");
  if (!v->is_object()) return Status::Invalid("object is not a JSON object");
  return Object(std::move(v->as_object()));
}

std::string_view Object::str_field(const json::object& o, std::string_view key) {
  return string_field(o, key);
}

std::string_view Object::meta_str(std::string_view key) const {
  const json::object* m = metadata_or_null();
  return m ? str_field(*m, key) : std::string_view{};
}

static int64_t parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && p == s.data() + s.size()) ? v : 0;
}

int64_t Object::resource_version() const { return parse_int(meta_str("resourceVersion")); }

int64_t Object::generation() const {
  const json::object* m = metadata_or_null();
  return m ? int64_field(*m, "generation").value_or(0) : 0;
}

void Object::set_ns(std::string_view v) {
  if (v.empty()) {
    metadata().erase("namespace");
  } else {
    set_meta("namespace", v);
  }
}

void Object::set_resource_version(int64_t rv) { set_meta("resourceVersion", std::to_string(rv)); }

void Object::clear_resource_version() { metadata().erase("resourceVersion"); }

const json::object* Object::labels() const { return object_field(metadata_or_null(), "labels"); }

void Object::set_meta(std::string_view key, std::string_view value) {
  metadata()[key] = json::string(value);
}

json::object& Object::child(std::string_view key) {
  json::value& v = json_[key];
  if (!v.is_object()) v = json::object();
  return v.get_object();
}

const json::object* Object::child_or_null(std::string_view key) const {
  return object_field(json_, key);
}

std::string lower_kind(std::string_view kind) {
  std::string out(kind);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace cenv
