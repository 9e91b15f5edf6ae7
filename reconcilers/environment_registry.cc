#include "reconcilers/environment_registry.h"

#include <algorithm>
#include <cctype>

#include "api/json_fields.h"

namespace cenv {

namespace {

std::string canonical_registry(std::string_view server) {
  std::string s(server);
  auto colon = s.rfind(':');
  std::transform(s.begin(), colon == std::string::npos ? s.end() : s.begin() + colon, s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "index.docker.io" || s == "registry-1.docker.io") return "docker.io";
  return s;
}

}  // namespace

std::optional<EnvironmentRegistry> environment_registry(const Object& env) {
  const boost::json::object* r = object_field(env.spec_or_null(), "registry");
  if (r == nullptr || string_field(*r, "server").empty()) return std::nullopt;
  return EnvironmentRegistry{std::string(string_field(*r, "server")),
                             std::string(string_field(*r, "credentialsSecret")),
                             bool_field(*r, "push")};
}

bool on_registry(const EnvironmentRegistry& registry, std::string_view image) {
  return canonical_registry(docker::image_registry(image)) == canonical_registry(registry.server);
}

Result<std::optional<docker::RegistryAuth>> registry_auth(const Object& env, std::string_view image,
                                                          const SecretOpener* secrets) {
  auto registry = environment_registry(env);
  if (!registry || !on_registry(*registry, image)) return std::optional<docker::RegistryAuth>();
  const std::string path = "spec.registry.credentialsSecret";
  const std::string what = "Environment \"" + std::string(env.name()) + "\" secret \"" +
                           registry->credentials_secret + "\"";
  auto fail = [&](const std::string& msg) {
    return Status::Invalid(path + ": " + msg, {{path, msg}});
  };
  if (secrets == nullptr) return fail(what + ": this controller has no data key to open it");
  auto opened = open_secret(env, registry->credentials_secret, *secrets);
  if (!opened.ok()) return fail(opened.status().message());
  std::string value = std::move(opened).value();
  if (value.ends_with("\r\n")) {
    value.resize(value.size() - 2);
  } else if (value.ends_with('\n')) {
    value.pop_back();
  }
  auto colon = value.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    return fail(what + ": must be \"username:password\" (the credentials of registry " +
                registry->server + ")");
  }
  return std::optional<docker::RegistryAuth>(
      docker::RegistryAuth{value.substr(0, colon), value.substr(colon + 1), registry->server});
}

std::string pushed_reference(const EnvironmentRegistry& registry, std::string_view tag) {
  return registry.server + "/" + std::string(tag);
}

std::string registry_refusal_message(const Object& env, std::string_view op, std::string_view image,
                                     const Status& refused) {
  const std::string server = docker::image_registry(image);
  auto registry = environment_registry(env);
  std::string out =
      "registry " + server + " refused to " + std::string(op) + " " + std::string(image);
  if (registry && on_registry(*registry, image)) {
    out += " with the credentials of spec.registry.credentialsSecret \"" +
           registry->credentials_secret + "\"";
  } else {
    out += " without credentials (set spec.registry.server to " + server +
           " and spec.registry.credentialsSecret to the key of spec.secrets holding "
           "\"username:password\")";
  }
  return out + ": " + refused.message();
}

}  // namespace cenv
