#pragma once
// The condition `type` of an object printed by `cenv get ... -o json`, as one line for checks:
// "STATUS REASON: MESSAGE" ("" when the object or the condition is missing).

#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace cenv::e2e {

inline std::string condition_text(const boost::json::value& object, std::string_view type) {
  boost::system::error_code ec;
  const boost::json::value* conds =
      object.is_null() ? nullptr : object.find_pointer("/status/conditions", ec);
  if (!conds || !conds->is_array()) return "";
  for (const boost::json::value& c : conds->get_array()) {
    const boost::json::value* t = c.is_object() ? c.as_object().if_contains("type") : nullptr;
    if (!t || !t->is_string() || t->get_string() != type) continue;
    auto str = [&](const char* k) {
      const boost::json::value* v = c.as_object().if_contains(k);
      return v && v->is_string() ? std::string(v->get_string()) : "";
    };
    return str("status") + " " + str("reason") + ": " + str("message");
  }
  return "";
}

}  // namespace cenv::e2e
