#pragma once
// ImageRecipe: how an Environment's runtime image is built from its base image and its
// resolved modules (DESIGN section 6): a deterministic Dockerfile and build context, and the
// content hash its tag carries, so that the same inputs never build twice.
//
// The Dockerfile has one layer group per module, in install order: its apt packages, its files
// (COPY to /opt/cenv/modules/<name>/), its pip requirements (from its wheels/), its install step
// (with the installation's options as variables of that RUN only), then ENV for its env. Everything
// of module k follows everything of the modules before it, so Docker's layer cache reuses every
// layer before a changed module. Module authors write arbitrary strings: each reaches the
// Dockerfile as a JSON string of an exec-form RUN (never through a shell as text) or as an
// escaped ENV/LABEL value.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/resolver.h"

namespace cenv::modules {

// Version of the Dockerfile layout; part of the content hash, so a cenv that lays images out
// differently never reuses an image of another layout.
inline constexpr int kRecipeFormat = 1;

// Where a module's files lie in the image: /opt/cenv/modules/<Module name>/.
inline constexpr std::string_view kModulesDir = "/opt/cenv/modules";

// The base image of an Environment.
struct BaseImage {
  std::string reference;  // as the Environment names it, e.g. "debian:bookworm-slim"
  std::string id;         // the local image's ID ("sha256:..."), which the hash covers
};

// What the Environment says about how its modules are installed.
struct RecipeOptions {
  // Index that requires.pip is installed from for a module without a wheels/ folder (the
  // Environment's spec.pipIndex); "" when none: such a module is refused.
  std::string pip_index_url;
};

class ImageRecipe {
 public:
  // The recipe for `base` plus the modules of `resolution`, in its order. Invalid naming the
  // module when it cannot be built as asked: pip requirements without a wheels/ folder and
  // without options.pip_index_url, an install script missing from its files, a file path Docker
  // cannot take, or an env value a Dockerfile cannot hold.
  static Result<ImageRecipe> create(const BaseImage& base, const Resolution& resolution,
                                    const RecipeOptions& options = {});

  // True when there are no modules: the runtime image is the base image itself, no build.
  bool empty() const { return empty_; }
  // The generated Dockerfile (also in context() as "Dockerfile"); "" when empty().
  const std::string& dockerfile() const { return dockerfile_; }
  // The build context: "Dockerfile" and every module's files under "modules/<name>/".
  const FileTree& context() const { return context_; }
  // The image's labels (also LABEL lines of the Dockerfile): io.cenv.modules
  // ("name@revision,..." in install order), org.opencontainers.image.base.name and
  // io.cenv.base-image-id.
  const std::map<std::string, std::string>& labels() const { return labels_; }
  // 64 hex of SHA-256 over the recipe format, the base image ID, the Dockerfile and every
  // module's name, revision and option values; the same for the same inputs on every machine.
  const std::string& content_hash() const { return content_hash_; }
  // The first 12 hex of content_hash(), for the image tag (cenv-runtime/<env>:<suffix>).
  std::string tag_suffix() const { return content_hash_.substr(0, 12); }

 private:
  bool empty_ = true;
  std::string dockerfile_;
  FileTree context_;
  std::map<std::string, std::string> labels_;
  std::string content_hash_;
};

// When a build's output (its last lines) shows apt-get refusing a package a module requires
// ("Unable to locate package X", "Version 'V' for 'X' was not found", "Package 'X' has no
// installation candidate"): which module and requires.apt entry asked for it, e.g.
// `Module "tools": requires.apt[1]: Debian package "jqq" was not found by apt-get (E: Unable to
// locate package jqq)`. nullopt when the output shows no such refusal.
std::optional<std::string> explain_apt_failure(const Resolution& resolution,
                                               const std::vector<std::string>& output);

}  // namespace cenv::modules
