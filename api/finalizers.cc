#include "api/finalizers.h"

namespace cenv {

namespace json = boost::json;

namespace {

const json::array* finalizers_of(const Object& o) {
  const json::object* m = o.metadata_or_null();
  if (!m) return nullptr;
  auto it = m->find("finalizers");
  return (it != m->end() && it->value().is_array()) ? &it->value().get_array() : nullptr;
}

}  // namespace

bool has_finalizer(const Object& obj, std::string_view name) {
  const json::array* f = finalizers_of(obj);
  if (!f) return false;
  for (const auto& v : *f) {
    if (v.is_string() && v.get_string() == name) return true;
  }
  return false;
}

bool add_finalizer(Object& obj, std::string_view name) {
  if (has_finalizer(obj, name)) return false;
  json::value& f = obj.metadata()["finalizers"];
  if (!f.is_array()) f = json::array();
  f.get_array().push_back(json::string(name));
  return true;
}

bool remove_finalizer(Object& obj, std::string_view name) {
  if (!has_finalizer(obj, name)) return false;
  json::object& m = obj.metadata();
  json::array& arr = m.find("finalizers")->value().get_array();
  for (auto a = arr.begin(); a != arr.end();) {
    a = (a->is_string() && a->get_string() == name) ? arr.erase(a) : a + 1;
  }
  if (arr.empty()) m.erase("finalizers");
  return true;
}

size_t finalizer_count(const Object& obj) {
  const json::array* f = finalizers_of(obj);
  return f ? f->size() : 0;
}

bool is_being_deleted(const Object& obj) {
  const json::object* m = obj.metadata_or_null();
  return m && m->contains("deletionTimestamp");
}

}  // namespace cenv
