#include "reconcilers/runtime_image.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/finalizers.h"
#include "api/json_fields.h"
#include "modules/options.h"

namespace cenv {

namespace json = boost::json;

namespace {

// The installation of one Module object: fetched, its options resolved.
Result<modules::InstalledModule> install(const Object& module, ModuleFetcher& fetcher) {
  const std::string name(module.name());
  const std::string what = "Module \"" + name + "\"";
  auto fetched = fetcher.fetch(module);
  if (!fetched.ok()) {
    // Keep Unavailable (a remote that may answer later); anything else makes the module
    // unusable until it changes.
    Status s = fetched.status();
    return Status(s.code() == Code::kUnavailable ? Code::kUnavailable : Code::kInvalid,
                  what + ": " + s.message());
  }
  const json::object* spec = module.spec_or_null();
  const json::object* set = nullptr;
  if (spec) {
    if (const json::value* v = spec->if_contains("options"); v && v->is_object()) {
      set = &v->get_object();
    }
  }
  auto options = modules::resolve_options(fetched->manifest, set, "spec.options");
  if (!options.ok()) return Status::Invalid(what + ": " + options.status().message());
  modules::InstalledModule m;
  m.name = name;
  m.manifest = std::move(fetched->manifest);
  m.revision = std::move(fetched->revision);
  m.option_env = std::move(options).value();
  m.files = std::move(fetched->files);
  return m;
}

// True when `tags` holds `reference` (Docker lists "repo:tag"; a reference without a tag
// means :latest).
bool tagged(const std::vector<std::string>& tags, const std::string& reference) {
  auto [repo, tag] = docker::split_image_ref(reference);
  const std::string full = repo + ":" + tag;
  return std::any_of(tags.begin(), tags.end(),
                     [&](const std::string& t) { return t == reference || t == full; });
}

}  // namespace

Result<ResolvedModules> resolve_environment_modules(const std::vector<ObjectPtr>& objects,
                                                    ModuleFetcher& fetcher) {
  std::vector<modules::InstalledModule> installed;
  std::vector<std::string> problems;
  bool unavailable = false;
  for (const ObjectPtr& o : objects) {
    if (!o || is_being_deleted(*o)) continue;
    auto m = install(*o, fetcher);
    if (!m.ok()) {
      unavailable = unavailable || m.status().code() == Code::kUnavailable;
      problems.push_back(m.status().message());
      continue;
    }
    installed.push_back(std::move(m).value());
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "\n") + p;
    return Status(unavailable ? Code::kUnavailable : Code::kInvalid, std::move(message));
  }
  auto resolution = modules::resolve(std::move(installed));
  if (!resolution.ok()) return resolution.status();
  ResolvedModules out;
  for (const modules::InstalledModule& m : resolution->modules) {
    out.installed.push_back(m.name + "@" + m.revision);
  }
  out.resolution = std::move(resolution).value();
  return out;
}

std::string runtime_image_repository(const DockerNames& names, std::string_view env) {
  std::string prefix =
      names.instance() == "default" ? std::string("cenv") : "cenv." + names.instance();
  return prefix + "-runtime/" + std::string(env);
}

std::vector<std::string> runtime_image_filters(const DockerNames& names, std::string_view env,
                                               std::string_view uid) {
  std::vector<std::string> filters = names.filters("Environment", env, env);
  filters.push_back(std::string(kLabelUid) + "=" + std::string(uid));
  return filters;
}

Result<RuntimeImage> plan_runtime_image(const Object& env, const modules::BaseImage& base,
                                        const ResolvedModules& modules, const DockerNames& names) {
  modules::RecipeOptions options{.pip_index_url =
                                     std::string(string_field(env.spec_or_null(), "pipIndex"))};
  auto recipe = modules::ImageRecipe::create(base, modules.resolution, options);
  if (!recipe.ok()) return recipe.status();
  RuntimeImage image;
  image.recipe = std::move(recipe).value();
  if (image.recipe.empty()) {
    image.reference = base.reference;
    return image;
  }
  image.needs_build = true;
  image.reference = runtime_image_repository(names, env.name()) + ":" + image.recipe.tag_suffix();
  image.labels = image.recipe.labels();
  for (auto& [k, v] : names.labels("Environment", env.name(), env.name(), env.uid())) {
    image.labels[k] = v;
  }
  return image;
}

Result<int> remove_runtime_images(docker::DockerClient& docker, const DockerNames& names,
                                  std::string_view env, std::string_view uid,
                                  const std::vector<std::string>& keep) {
  auto images = docker.list_images({.label_filters = runtime_image_filters(names, env, uid)});
  if (!images.ok()) return images.status();
  int removed = 0;
  for (const docker::ImageInfo& image : images.value()) {
    // The filters selected by label; check again, so a fake or an old daemon ignoring a
    // filter can never make this remove what another instance (or a user) owns.
    if (!names.owns(image.labels) || label_value(image.labels, kLabelUid) != uid) continue;
    bool kept = std::any_of(keep.begin(), keep.end(),
                            [&](const std::string& k) { return tagged(image.tags, k); });
    if (kept) continue;
    // A pushed image carries its registry name too: untagged first, as Docker refuses to remove
    // by id an image of several names unless forced.
    for (size_t i = 1; i < image.tags.size(); ++i) {
      Status untagged = docker.remove_image(image.tags[i]);
      if (!untagged.ok() && untagged.code() != Code::kNotFound) {
        return untagged.with_prefix("untagging runtime image " + image.tags[i]);
      }
    }
    // By id, so a dangling image (its tag moved on) goes too; never forced, so an image a
    // container still uses stays.
    Status s = docker.remove_image(image.id);
    if (s.ok()) {
      ++removed;
      spdlog::info("Environment {}: removed runtime image {}", env,
                   image.tags.empty() ? image.id : image.tags.front());
    } else if (s.code() == Code::kConflict) {
      spdlog::warn("Environment {}: runtime image {} is still in use, left: {}", env, image.id,
                   s.message());
    } else if (s.code() != Code::kNotFound) {
      return s.with_prefix("removing runtime image " + image.id);
    }
  }
  return removed;
}

}  // namespace cenv
