#include "reconcilers/container_env.h"

#include <boost/json.hpp>
#include <map>

namespace cenv {

namespace json = boost::json;

Result<std::vector<std::string>> container_env(const Object& owner, const Object& environment) {
  static const json::object kEmpty;
  const json::object* spec = owner.spec_or_null();
  if (spec == nullptr) spec = &kEmpty;
  const json::object* env_spec = environment.spec_or_null();
  if (env_spec == nullptr) env_spec = &kEmpty;

  std::map<std::string, std::string> vars;
  if (auto* v = env_spec->if_contains("variables"); v && v->is_object()) {
    for (const auto& kv : v->get_object()) {
      if (kv.value().is_string()) {
        vars[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    }
  }
  if (auto* e = spec->if_contains("env"); e && e->is_array()) {
    for (const json::value& item : e->get_array()) {
      if (!item.is_object()) continue;
      vars[std::string(Object::str_field(item.get_object(), "name"))] =
          std::string(Object::str_field(item.get_object(), "value"));
    }
  }
  if (auto* e = spec->if_contains("secretEnv"); e && e->is_array()) {
    const json::object* secrets = nullptr;
    if (auto* s = env_spec->if_contains("secrets"); s && s->is_object()) secrets = &s->get_object();
    const json::array& items = e->get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      const json::value& item = items[i];
      if (!item.is_object()) continue;
      std::string_view key = Object::str_field(item.get_object(), "secretKey");
      const json::value* value = secrets ? secrets->if_contains(key) : nullptr;
      if (value == nullptr || !value->is_string()) {
        std::string path = "spec.secretEnv[" + std::to_string(i) + "].secretKey";
        std::string msg = "Environment " + std::string(environment.name()) + " has no secret \"" +
                          std::string(key) + "\"";
        return Status::Invalid(path + ": " + msg, {{path, msg}});
      }
      vars[std::string(Object::str_field(item.get_object(), "name"))] =
          std::string(value->get_string());
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

}  // namespace cenv
