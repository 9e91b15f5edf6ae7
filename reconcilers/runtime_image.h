#pragma once
// The runtime image of an Environment (DESIGN sections 2 and 6): its base image plus every
// Module of its namespace, fetched (ModuleFetcher), put in install order (modules::resolve) and
// laid out as a Dockerfile and build context (modules::ImageRecipe). Its tag is
// content-addressed, cenv-runtime/<env>:<12 hex> ("cenv.<instance>-runtime/<env>:..." for a
// named instance), so the same inputs name the same image and never build twice. This file
// says *which* image an Environment needs and removes the ones it no longer does;
// RuntimeImageBuilder (runtime_image_builder.h) builds it. Functions here are thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "controller/docker/docker_client.h"
#include "controller/runtime/informer.h"
#include "modules/image_recipe.h"
#include "modules/resolver.h"
#include "reconcilers/docker_names.h"
#include "reconcilers/module_fetcher.h"

namespace cenv {

// The Modules of one Environment, fetched and in install order.
struct ResolvedModules {
  modules::Resolution resolution;
  std::vector<std::string> installed;  // "name@revision" of each, in install order
};

// Fetches every Module of `modules` (those of the Environment's namespace; one being deleted is
// left out), resolves each installation's options (spec.options) and orders them. Invalid,
// prefixed "Module \"<name>\"" where one Module is at fault, for a fetch that failed (the
// fetcher's message, naming the field), an option the manifest does not declare or of the wrong
// type, or a resolution error (a cycle, a missing or out-of-range module, two pins of one
// package: resolve() names the chain or both modules). Unavailable when a source did not answer
// (a Git remote): worth retrying.
Result<ResolvedModules> resolve_environment_modules(const std::vector<ObjectPtr>& modules,
                                                    ModuleFetcher& fetcher);

// The image an Environment's containers run.
struct RuntimeImage {
  // The base image itself when there are no modules; else cenv-runtime/<env>:<tag suffix>.
  std::string reference;
  bool needs_build = false;  // false: the base image, nothing to build
  modules::ImageRecipe recipe;
  // The recipe's labels (the modules, the base image) and cenv's: io.cenv.managed, instance,
  // kind Environment, namespace and name (the Environment's name) and uid.
  docker::Labels labels;
};

// The runtime image of `env` (an Environment) on `base` with `modules`. Invalid, naming the
// module, when the recipe cannot be made (ImageRecipe::create).
Result<RuntimeImage> plan_runtime_image(const Object& env, const modules::BaseImage& base,
                                        const ResolvedModules& modules, const DockerNames& names);

// The repository of Environment `env`'s runtime images: "cenv-runtime/<env>", or
// "cenv.<instance>-runtime/<env>" for a named instance (a valid Docker repository name, as
// Environment names and instances are lower-case DNS labels).
std::string runtime_image_repository(const DockerNames& names, std::string_view env);

// Label filters selecting the runtime images this instance built for Environment `env` of uid
// `uid`.
std::vector<std::string> runtime_image_filters(const DockerNames& names, std::string_view env,
                                               std::string_view uid);

// Removes the runtime images this instance built for Environment `env` (uid `uid`), except
// those tagged with a reference in `keep`. Never touches an image without this instance's
// labels for that uid. An image of several names (pushed: its registry name too) loses its
// other names first; one still used by a container (Conflict) is left, with its first name,
// and logged. Returns how many were removed; the first failure other than NotFound and Conflict.
Result<int> remove_runtime_images(docker::DockerClient& docker, const DockerNames& names,
                                  std::string_view env, std::string_view uid,
                                  const std::vector<std::string>& keep);

}  // namespace cenv
