#pragma once
// Environment.spec.registry: the private registry an Environment pulls its images from with
// credentials, and pushes its runtime images to (spec.registry.push). The credentials are the
// Environment secret spec.registry.credentialsSecret names, "username:password", opened the way
// secretEnv values are (open_secret). Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "api/environment_secrets.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv {

struct EnvironmentRegistry {
  std::string server;              // "host[:port]", as image references name it
  std::string credentials_secret;  // a key of spec.secrets
  bool push = false;               // push built runtime images to `server`
};

// spec.registry of `env`; nullopt when it has none (or no server).
std::optional<EnvironmentRegistry> environment_registry(const Object& env);

// Whether `image` lives on `registry` (docker::image_registry(image) is its server; the host
// compared without regard to case, "index.docker.io" and "registry-1.docker.io" as "docker.io").
bool on_registry(const EnvironmentRegistry& registry, std::string_view image);

// The credentials to pull or push `image` for `env`: nullopt when `env` has no spec.registry or
// `image` is on another registry. Invalid, with the field path spec.registry.credentialsSecret
// and a message naming the Environment and the key (never any part of the value), when that
// secret is missing, does not open with `secrets` (nullptr: this controller has no data key) or
// is not "username:password" (one trailing newline is ignored).
// The result holds a password: never log it or write it into an object.
Result<std::optional<docker::RegistryAuth>> registry_auth(const Object& env, std::string_view image,
                                                          const SecretOpener* secrets);

// The reference the runtime image `tag` ("cenv-runtime/dev:0123456789ab") is pushed as:
// "<server>/cenv-runtime/dev:0123456789ab".
std::string pushed_reference(const EnvironmentRegistry& registry, std::string_view tag);

// What to say when the registry of `image` refused to `op` ("pull", "push") it for `env`
// (`refused` is Unauthenticated, with Docker's message): names the registry and, when `env`'s
// spec.registry serves it, spec.registry.credentialsSecret; else says to set spec.registry.
std::string registry_refusal_message(const Object& env, std::string_view op, std::string_view image,
                                     const Status& refused);

}  // namespace cenv
