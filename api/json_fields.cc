#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

const json::value* value_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string_view string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

const json::object* object_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::object* object_field(const json::object* o, std::string_view key) {
  return o == nullptr ? nullptr : object_field(*o, key);
}

const json::array* array_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<int64_t> int64_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  // A non-negative integer may be held as uint64 when built in C++ (json::value(uint64_t{5})).
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

bool bool_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::vector<std::string> string_list_field(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* a = array_field(o, key)) {
    for (const auto& v : *a) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
  }
  return out;
}

std::map<std::string, std::string> string_map_field(const json::object& o, std::string_view key) {
  std::map<std::string, std::string> out;
  if (const json::object* m = object_field(o, key)) {
    for (const auto& [k, v] : *m) {
      if (v.is_string()) out.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  return out;
}

std::string_view string_field(const json::object* o, std::string_view key) {
  return o == nullptr ? std::string_view() : string_field(*o, key);
}

const json::array* array_field(const json::object* o, std::string_view key) {
  return o == nullptr ? nullptr : array_field(*o, key);
}

std::optional<int64_t> int64_field(const json::object* o, std::string_view key) {
  return o == nullptr ? std::nullopt : int64_field(*o, key);
}

bool bool_field(const json::object* o, std::string_view key) {
  return o != nullptr && bool_field(*o, key);
}

std::vector<std::string> string_list_field(const json::object* o, std::string_view key) {
  return o == nullptr ? std::vector<std::string>() : string_list_field(*o, key);
}

std::map<std::string, std::string> string_map_field(const json::object* o, std::string_view key) {
  return o == nullptr ? std::map<std::string, std::string>() : string_map_field(*o, key);
}

}  // namespace cenv
