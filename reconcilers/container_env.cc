#include "reconcilers/container_env.h"

#include <boost/json.hpp>
#include <map>

#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

Result<std::vector<std::string>> container_env(const Object& owner, const Object& environment) {
  const json::object* spec = owner.spec_or_null();
  const json::object* env_spec = environment.spec_or_null();

  std::map<std::string, std::string> vars = string_map_field(env_spec, "variables");
  if (const json::array* e = array_field(spec, "env")) {
    for (const json::value& item : *e) {
      if (!item.is_object()) continue;
      vars[std::string(string_field(item.get_object(), "name"))] =
          std::string(string_field(item.get_object(), "value"));
    }
  }
  if (const json::array* items = array_field(spec, "secretEnv")) {
    const json::object* secrets = object_field(env_spec, "secrets");
    for (size_t i = 0; i < items->size(); ++i) {
      const json::value& item = (*items)[i];
      if (!item.is_object()) continue;
      std::string_view key = string_field(item.get_object(), "secretKey");
      const json::value* value = secrets ? secrets->if_contains(key) : nullptr;
      if (value == nullptr || !value->is_string()) {
        std::string path = "spec.secretEnv[" + std::to_string(i) + "].secretKey";
        std::string msg = "Environment " + std::string(environment.name()) + " has no secret \"" +
                          std::string(key) + "\"";
        return Status::Invalid(path + ": " + msg, {{path, msg}});
      }
      vars[std::string(string_field(item.get_object(), "name"))] = std::string(value->get_string());
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

}  // namespace cenv
