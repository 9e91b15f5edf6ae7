#include "api/conditions.h"

#include "api/clock.h"

namespace cenv {

namespace json = boost::json;

namespace {

const json::array* conditions_of(const Object& obj) {
  const json::object* status = obj.status_or_null();
  if (!status) return nullptr;
  auto it = status->find("conditions");
  return (it != status->end() && it->value().is_array()) ? &it->value().get_array() : nullptr;
}

int64_t int_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
  return 0;
}

// Sets `key` to `value`; true when that changed the object.
bool assign(json::object& o, std::string_view key, const json::value& value) {
  auto it = o.find(key);
  if (it != o.end() && it->value() == value) return false;
  o[key] = value;
  return true;
}

}  // namespace

std::optional<Condition> get_condition(const Object& obj, std::string_view type) {
  const json::array* conditions = conditions_of(obj);
  if (!conditions) return std::nullopt;
  for (const json::value& v : *conditions) {
    if (!v.is_object()) continue;
    const json::object& c = v.get_object();
    if (Object::str_field(c, "type") != type) continue;
    return Condition{std::string(type),
                     std::string(Object::str_field(c, "status")),
                     std::string(Object::str_field(c, "reason")),
                     std::string(Object::str_field(c, "message")),
                     std::string(Object::str_field(c, "lastTransitionTime")),
                     int_field(c, "observedGeneration")};
  }
  return std::nullopt;
}

bool is_condition_true(const Object& obj, std::string_view type) {
  auto c = get_condition(obj, type);
  return c && c->status == kConditionTrue;
}

bool set_condition(Object& obj, std::string_view type, std::string_view status,
                   std::string_view reason, std::string_view message, int64_t observed_generation,
                   std::chrono::system_clock::time_point now) {
  json::value& slot = obj.status()["conditions"];
  bool changed = false;
  if (!slot.is_array()) {
    slot = json::array();
    changed = true;
  }
  json::array& conditions = slot.get_array();
  json::object* found = nullptr;
  for (json::value& v : conditions) {
    if (v.is_object() && Object::str_field(v.get_object(), "type") == type) {
      found = &v.get_object();
      break;
    }
  }
  if (!found) {
    json::object c;
    c["type"] = type;
    c["status"] = status;
    c["reason"] = reason;
    c["message"] = message;
    c["lastTransitionTime"] = format_rfc3339(now);
    c["observedGeneration"] = observed_generation;
    conditions.push_back(std::move(c));
    return true;
  }
  json::object& c = *found;
  if (Object::str_field(c, "status") != status) {
    c["status"] = status;
    c["lastTransitionTime"] = format_rfc3339(now);
    changed = true;
  } else if (!c.contains("lastTransitionTime")) {
    c["lastTransitionTime"] = format_rfc3339(now);
    changed = true;
  }
  changed |= assign(c, "reason", json::string(reason));
  changed |= assign(c, "message", json::string(message));
  changed |= assign(c, "observedGeneration", json::value(observed_generation));
  return changed;
}

bool remove_condition(Object& obj, std::string_view type) {
  json::object* status = obj.status_or_null() ? &obj.status() : nullptr;
  if (!status) return false;
  auto it = status->find("conditions");
  if (it == status->end() || !it->value().is_array()) return false;
  json::array& conditions = it->value().get_array();
  for (auto c = conditions.begin(); c != conditions.end(); ++c) {
    if (c->is_object() && Object::str_field(c->get_object(), "type") == type) {
      conditions.erase(c);
      return true;
    }
  }
  return false;
}

bool set_observed_generation(Object& obj) {
  return assign(obj.status(), "observedGeneration", json::value(obj.generation()));
}

}  // namespace cenv
