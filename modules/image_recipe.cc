#include "modules/image_recipe.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <vector>

#include "api/display_text.h"
#include "api/names.h"

namespace cenv::modules {

namespace json = boost::json;

namespace {

// A JSON string literal, as exec-form instructions take their arguments.
std::string json_string(std::string_view s) { return json::serialize(json::string(s)); }

// An exec-form instruction: `RUN ["a", "b"]`. Docker runs it without a shell and substitutes
// no variables in it, so each argument reaches the process exactly as given.
std::string exec_form(std::string_view instruction, const std::vector<std::string>& argv) {
  std::string out(instruction);
  out += " [";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out += ", ";
    out += json_string(argv[i]);
  }
  out += "]\n";
  return out;
}

// A double-quoted ENV or LABEL value. Inside double quotes the Dockerfile parser treats
// backslash, '"' and '$' specially (it substitutes variables); each is escaped, so the value
// is taken literally. Callers refuse line breaks and control characters first.
std::string dockerfile_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"' || c == '$') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

// An image reference or ID as it may stand on the FROM line: no spaces, no quotes, no '$'
// (FROM substitutes build arguments).
bool plain_reference(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/' || c == ':' || c == '@';
  });
}

// Appends `field` with its length, so that no two different sequences of fields hash alike.
void add_field(std::string& out, std::string_view field) {
  uint64_t n = field.size();
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (i * 8)) & 0xff));
  out += field;
}

// The apt layer's script; the packages are its arguments.
constexpr std::string_view kAptScript =
    "apt-get update && apt-get install -y --no-install-recommends \"$@\" && "
    "rm -rf /var/lib/apt/lists/*";

bool has_wheels(const FileTree& files) {
  auto it = files.files.lower_bound("wheels/");
  return it != files.files.end() && it->first.starts_with("wheels/");
}

// The apt packages of `m`, pins of other modules applied, python3-pip added when it has pip
// requirements.
std::vector<std::string> apt_packages(const InstalledModule& m,
                                      const std::map<std::string, std::string>& pins) {
  std::vector<std::string> out;
  bool has_pip_package = false;
  auto add = [&](const std::string& package, const std::string& version) {
    std::string v = version;
    if (auto pin = pins.find(package); v.empty() && pin != pins.end()) v = pin->second;
    std::string text = v.empty() ? package : package + "=" + v;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
    has_pip_package = has_pip_package || package == "python3-pip";
  };
  for (const AptRequirement& a : m.manifest.requirements.apt) add(a.package, a.version);
  // pip itself must be in the image for the pip layer; Debian's python3-pip brings python3.
  // Adding it to this module's line (not assuming an earlier module or the base image has it)
  // keeps the module's layers right whatever is installed before it.
  if (!m.manifest.requirements.pip.empty() && !has_pip_package) add("python3-pip", "");
  return out;
}

// The Dockerfile lines of one module (its layer group), adding its files to `context`.
Result<std::string> module_layers(const InstalledModule& m,
                                  const std::map<std::string, std::string>& pins,
                                  const RecipeOptions& options, FileTree& context) {
  std::string what = "module " + m.name;
  std::string dir = std::string(kModulesDir) + "/" + m.name;
  const ModuleManifest& manifest = m.manifest;
  std::string out =
      "\n# Module " + m.name + ": " + manifest.name + "@" + manifest.version.text() + "\n";

  // Packages before files: a change of the module's files (its script, say) rebuilds from
  // the COPY on and reuses the module's package layer, the slowest of its group.
  std::vector<std::string> apt = apt_packages(m, pins);
  if (!apt.empty()) {
    // The packages are arguments of the script ("$@"), never part of its text.
    std::vector<std::string> argv = {"/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "/bin/sh",
                                     "-c",           std::string(kAptScript),          "apt-get"};
    argv.insert(argv.end(), apt.begin(), apt.end());
    out += exec_form("RUN", argv);
  }

  for (const auto& [path, entry] : m.files.files) {
    if (Status s = check_tree_path(path); !s.ok()) return s.with_prefix(what);
    FileEntry copy = entry;
    // The install script runs as a program, so that its #! line chooses the interpreter.
    if (manifest.install.kind == InstallStep::Kind::kScriptFile && path == manifest.install.text) {
      copy.executable = true;
    }
    context.files.emplace("modules/" + m.name + "/" + path, std::move(copy));
  }
  if (!m.files.files.empty()) {
    out += exec_form("COPY", {"modules/" + m.name + "/", dir + "/"});
  }

  if (!manifest.requirements.pip.empty()) {
    const bool wheels = has_wheels(m.files);
    if (!wheels && options.pip_index_url.empty()) {
      return Status::Invalid(what + ": requires.pip is installed from the module's wheels/ " +
                             "folder, which the module does not have, or from the " +
                             "Environment's spec.pipIndex, which is not set");
    }
    // PIP_BREAK_SYSTEM_PACKAGES is --break-system-packages (Debian 12 marks its Python as
    // externally managed); as a variable an older pip that lacks the option ignores it.
    std::vector<std::string> argv = {
        "/usr/bin/env", "PIP_BREAK_SYSTEM_PACKAGES=1", "PIP_NO_CACHE_DIR=1", "python3", "-m", "pip",
        "install"};
    // The module's own wheels win: offline, the same on every machine.
    if (wheels) {
      argv.insert(argv.end(), {"--no-index", "--find-links", dir + "/wheels"});
    } else {
      argv.insert(argv.end(), {"--index-url", options.pip_index_url});
    }
    for (const PipRequirement& p : manifest.requirements.pip) argv.push_back(p.text);
    out += exec_form("RUN", argv);
  }

  if (manifest.install.kind != InstallStep::Kind::kNone) {
    // Options are variables of this RUN only (through env), so they do not stay in the image.
    std::vector<std::string> argv = {"/usr/bin/env", "CENV_MODULE_DIR=" + dir};
    for (const auto& [name, value] : m.option_env) argv.push_back(std::string(name) += "=" + value);
    argv.push_back("/bin/sh");
    if (manifest.install.kind == InstallStep::Kind::kScriptFile) {
      if (!m.files.files.contains(manifest.install.text)) {
        return Status::Invalid(what + ": install script \"" +
                               escape_for_display(manifest.install.text) +
                               "\" is not among the module's files");
      }
      // $0 is the script's path, an argument: no text of the module enters the command line.
      argv.insert(argv.end(),
                  {"-c", "cd \"$CENV_MODULE_DIR\" && exec \"./$0\"", manifest.install.text});
    } else {
      argv.insert(argv.end(), {"-ec", manifest.install.text});
    }
    out += exec_form("RUN", argv);
  }

  for (const auto& [name, value] : manifest.env) {
    if (has_control(value)) {
      std::string message = what;
      message += ": env." + name + ": a Dockerfile cannot hold a line break or control character";
      return Status::Invalid(std::move(message));
    }
    out += "ENV " + name + "=" + dockerfile_quoted(value) + "\n";
  }
  return out;
}

}  // namespace

Result<ImageRecipe> ImageRecipe::create(const BaseImage& base, const Resolution& resolution,
                                        const RecipeOptions& options) {
  if (!plain_reference(base.reference)) {
    return Status::Invalid("base image \"" + escape_for_display(base.reference) +
                           "\" is not an image reference");
  }
  ImageRecipe recipe;
  std::string hashed;
  add_field(hashed, "cenv image recipe");
  add_field(hashed, std::to_string(kRecipeFormat));
  add_field(hashed, base.id);
  if (resolution.modules.empty()) {
    recipe.content_hash_ = sha256_hex(hashed);
    return recipe;
  }

  std::string dockerfile = "# Runtime image of cenv (recipe format " +
                           std::to_string(kRecipeFormat) + "), generated: do not edit\n";
  dockerfile += "FROM " + base.reference + "\n";
  std::string modules_label;
  for (const InstalledModule& m : resolution.modules) {
    if (std::string bad = check_dns1123_label(m.name); !bad.empty()) {
      return Status::Invalid("Module name \"" + escape_for_display(m.name) + "\": " + bad);
    }
    Result<std::string> layers = module_layers(m, resolution.apt_pins, options, recipe.context_);
    if (!layers.ok()) return layers.status();
    dockerfile += *layers;
    modules_label += (modules_label.empty() ? "" : ",") + m.name + "@" + m.revision;
    add_field(hashed, m.name);
    add_field(hashed, m.revision);
    add_field(hashed, std::to_string(m.option_env.size()));
    for (const auto& [name, value] : m.option_env) {
      add_field(hashed, name);
      add_field(hashed, value);
    }
  }

  recipe.labels_ = {{"io.cenv.modules", modules_label},
                    {"org.opencontainers.image.base.name", base.reference},
                    {"io.cenv.base-image-id", base.id}};
  dockerfile += "\n";
  for (const auto& [key, value] : recipe.labels_) {
    if (has_control(value)) {
      return Status::Invalid("label " + key + ": a Dockerfile cannot hold a control character");
    }
    dockerfile += "LABEL " + key + "=" + dockerfile_quoted(value) + "\n";
  }
  add_field(hashed, dockerfile);
  recipe.content_hash_ = sha256_hex(hashed);
  recipe.context_.files["Dockerfile"] = {dockerfile, false};
  recipe.dockerfile_ = std::move(dockerfile);
  recipe.empty_ = false;
  return recipe;
}

namespace {

// The package apt-get names in one of its refusals, or "".
std::string refused_package(std::string_view line) {
  auto quoted_after = [&](std::string_view marker) -> std::string {
    size_t at = line.find(marker);
    if (at == std::string_view::npos) return "";
    size_t open = line.find('\'', at + marker.size());
    size_t close = open == std::string_view::npos ? open : line.find('\'', open + 1);
    if (close == std::string_view::npos) return "";
    return std::string(line.substr(open + 1, close - open - 1));
  };
  constexpr std::string_view kLocate = "Unable to locate package ";
  if (size_t at = line.find(kLocate); at != std::string_view::npos) {
    std::string_view rest = line.substr(at + kLocate.size());
    size_t end = rest.find_first_of(" \t\r\n");
    return std::string(rest.substr(0, end));
  }
  if (line.find("was not found") != std::string_view::npos) return quoted_after("' for ");
  if (line.find("has no installation candidate") != std::string_view::npos) {
    return quoted_after("Package");
  }
  return "";
}

}  // namespace

std::optional<std::string> explain_apt_failure(const Resolution& resolution,
                                               const std::vector<std::string>& output) {
  for (const std::string& line : output) {
    std::string package = refused_package(line);
    if (package.empty()) continue;
    // apt-get may name "pkg:arch"; modules name the package alone.
    std::string bare = package.substr(0, package.find(':'));
    for (const InstalledModule& m : resolution.modules) {
      const auto& apt = m.manifest.requirements.apt;
      for (size_t i = 0; i < apt.size(); ++i) {
        if (apt[i].package != bare) continue;
        std::string what = apt[i].version.empty() ? "Debian package \"" + bare + "\""
                                                  : "version " + apt[i].version +
                                                        " of Debian package \"" + bare + "\"";
        size_t start = line.find_first_not_of(" \t");
        std::string said = line.substr(start == std::string::npos ? 0 : start);
        while (!said.empty() && (said.back() == '\r' || said.back() == '\n')) said.pop_back();
        return "Module \"" + m.name + "\": requires.apt[" + std::to_string(i) + "]: " + what +
               " was not found by apt-get (" + said + ")";
      }
    }
  }
  return std::nullopt;
}

}  // namespace cenv::modules
