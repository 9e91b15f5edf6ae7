#include "reconcilers/container_env.h"

#include <boost/json.hpp>
#include <map>

#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

namespace {

// The plaintext of secret `key` of `environment` for secretEnv item `index`.
Result<std::string> secret_env_value(const Object& environment, std::string_view key, size_t index,
                                     const SecretOpener* secrets) {
  const json::object* all = object_field(environment.spec_or_null(), "secrets");
  const json::value* value = all ? all->if_contains(key) : nullptr;
  std::string path = "spec.secretEnv[" + std::to_string(index) + "].secretKey";
  auto fail = [&](const std::string& msg) {
    return Status::Invalid(path + ": " + msg, {{path, msg}});
  };
  if (value == nullptr || !value->is_string()) {
    return fail("Environment " + std::string(environment.name()) + " has no secret \"" +
                std::string(key) + "\"");
  }
  if (secrets == nullptr) {
    return fail("Environment \"" + std::string(environment.name()) + "\" secret \"" +
                std::string(key) + "\": this controller has no data key to open it");
  }
  auto opened = open_secret(environment, key, *secrets);
  if (!opened.ok()) return fail(opened.status().message());
  return opened;
}

}  // namespace

Result<std::vector<std::string>> container_env(const Object& owner, const Object& environment,
                                               const SecretOpener* secrets) {
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
    for (size_t i = 0; i < items->size(); ++i) {
      const json::value& item = (*items)[i];
      if (!item.is_object()) continue;
      auto value =
          secret_env_value(environment, string_field(item.get_object(), "secretKey"), i, secrets);
      if (!value.ok()) return value.status();
      vars[std::string(string_field(item.get_object(), "name"))] = std::move(value).value();
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

}  // namespace cenv
