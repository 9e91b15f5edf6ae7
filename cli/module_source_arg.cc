#include "cli/module_source_arg.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/display_text.h"
#include "api/limits.h"
#include "api/names.h"
#include "modules/manifest.h"

namespace cenv::cli {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kGitForms =
    "a Git URL starts with https://, http://, ssh://, git:// or file://, or is user@host:path";

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (s.starts_with(p)) return true;
  }
  return false;
}

// "user@host:path": as git, an '@' before the first ':' and no '/' before that ':'.
bool is_scp_like(std::string_view s) {
  size_t at = s.find('@');
  size_t colon = s.find(':');
  if (at == std::string_view::npos || colon == std::string_view::npos) return false;
  if (at == 0 || colon < at + 2 || colon + 1 >= s.size()) return false;
  return s.substr(0, colon).find('/') == std::string_view::npos;
}

// The last non-empty '/'-separated component of `path` (also after a ':' of user@host:path).
std::string last_component(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t cut = path.find_last_of("/:");
  return std::string(cut == std::string_view::npos ? path : path.substr(cut + 1));
}

// A decimal integer within int64, as a JSON integer; nullopt for anything else.
std::optional<int64_t> as_integer(const std::string& text) {
  size_t digits = text.starts_with('-') ? 1 : 0;
  if (text.size() == digits || text.size() - digits > 19) return std::nullopt;
  if (text.find_first_not_of("0123456789", digits) != std::string::npos) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || end != text.c_str() + text.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace

bool is_git_url(std::string_view source) {
  return starts_with_any(source, {"https://", "http://", "ssh://", "git://", "file://"}) ||
         is_scp_like(source);
}

Result<GitSourceArg> parse_git_source(std::string_view source, std::string_view ref_flag,
                                      std::string_view subdir_flag) {
  GitSourceArg git;
  std::string_view url = source;
  std::string_view ref;
  if (size_t hash = source.rfind('#'); hash != std::string_view::npos) {
    url = source.substr(0, hash);
    ref = source.substr(hash + 1);
  }
  if (url.empty()) return Status::Invalid("SOURCE: the Git URL is empty");
  if (!ref.empty() && !ref_flag.empty() && ref != ref_flag) {
    return Status::Invalid("SOURCE names ref \"" + escape_for_display(ref) + "\" and --ref \"" +
                           escape_for_display(ref_flag) + "\": give one");
  }
  git.url = std::string(url);
  git.ref = std::string(ref_flag.empty() ? ref : ref_flag);
  git.subdir = std::string(subdir_flag);
  return git;
}

Result<std::string> module_name_from_git(const GitSourceArg& git) {
  std::string base = last_component(git.subdir);
  if (base.empty() || base == ".") base = last_component(git.url);
  if (base.ends_with(".git")) base.resize(base.size() - 4);
  std::string name;
  for (char c : base) {
    unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!name.empty() && name.front() == '-') name.erase(name.begin());
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty() || !check_dns1123_label(name).empty()) {
    return Status::Invalid("cannot name the module after \"" + escape_for_display(git.url) +
                           "\": give --name NAME");
  }
  return name;
}

Result<LocalSourceArg> locate_local_source(std::string_view source, const fs::path& cwd) {
  std::error_code ec;
  fs::path given(source);
  fs::path folder = fs::weakly_canonical(given.is_absolute() ? given : cwd / given, ec);
  if (ec || !fs::exists(folder, ec)) {
    return Status::NotFound("SOURCE \"" + escape_for_display(source) + "\": no such folder (" +
                            std::string(kGitForms) + ")");
  }
  if (!fs::is_directory(folder, ec)) {
    return Status::Invalid("SOURCE \"" + escape_for_display(source) +
                           "\": not a directory (a module is a folder holding cenv-module.yaml)");
  }
  LocalSourceArg local;
  local.folder = folder;
  fs::path base = fs::weakly_canonical(cwd, ec);
  fs::path rel = ec ? fs::path() : folder.lexically_relative(base);
  bool inside = !rel.empty() && *rel.begin() != "..";
  if (inside) {
    local.dir = base;
    local.path = rel.generic_string();
  } else {
    // Outside the working directory (pack_module_sources refuses paths that leave the
    // directory they are relative to): relative to the folder's parent instead.
    local.dir = folder.parent_path();
    local.path = folder.filename().string();
  }
  return local;
}

Result<std::string> manifest_name_in(const fs::path& folder) {
  fs::path file = folder / modules::kManifestFile;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return Status::NotFound(file.string() + ": no such file (a module folder holds " +
                            std::string(modules::kManifestFile) + ")");
  }
  auto size = fs::file_size(file, ec);
  if (ec || size > kMaxModuleManifestBytes) {
    return Status::Invalid(file.string() + ": larger than " +
                           std::to_string(kMaxModuleManifestBytes) + " bytes");
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::Invalid(file.string() + ": cannot be read");
  auto manifest = modules::parse_module_manifest(text.str(), file.string());
  if (!manifest.ok()) return manifest.status();
  return manifest->name;
}

Result<json::object> parse_option_values(const std::vector<std::string>& sets) {
  json::object options;
  for (const std::string& s : sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Invalid("--set \"" + escape_for_display(s) + "\": use KEY=VALUE");
    }
    std::string key = s.substr(0, eq);
    std::string value = s.substr(eq + 1);
    if (value == "true" || value == "false") {
      options[key] = value == "true";
    } else if (auto n = as_integer(value)) {
      options[key] = *n;
    } else {
      options[key] = value;
    }
  }
  return options;
}

Object module_object(const std::string& name, const std::string& ns, json::object source,
                     json::object options) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = "Module";
  o.set_name(name);
  o.set_ns(ns);
  o.spec()["source"] = std::move(source);
  if (!options.empty()) o.spec()["options"] = std::move(options);
  return o;
}

}  // namespace cenv::cli
