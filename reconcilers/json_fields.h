#pragma once
// Lenient getters of the JSON fields of an object's spec or status, for the CommandRun files
// (beside Object::str_field): a missing object, a missing field and a field of another type
// all read as "absent". The CRD schemas have checked types before any reconciler reads them.

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"

namespace cenv {

// The string `key` of `o`; "" when absent.
inline std::string string_field(const boost::json::object* o, std::string_view key) {
  return o ? std::string(Object::str_field(*o, key)) : std::string();
}

// The integer `key` of `o`; nullopt when absent.
inline std::optional<int64_t> int_field(const boost::json::object* o, std::string_view key) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_int64()) return std::nullopt;
  return it->value().as_int64();
}

// The boolean `key` of `o`; false when absent.
inline bool bool_field(const boost::json::object* o, std::string_view key) {
  if (!o) return false;
  auto it = o->find(key);
  return it != o->end() && it->value().is_bool() && it->value().as_bool();
}

// The object `key` of `o`; nullptr when absent.
inline const boost::json::object* object_field(const boost::json::object* o, std::string_view key) {
  if (!o) return nullptr;
  auto it = o->find(key);
  return it != o->end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

// The strings of the array `key` of `o` (other items skipped); empty when absent.
inline std::vector<std::string> string_list(const boost::json::object* o, std::string_view key) {
  std::vector<std::string> out;
  if (!o) return out;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

}  // namespace cenv
