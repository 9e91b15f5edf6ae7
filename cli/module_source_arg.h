#pragma once
// What `cenv module add SOURCE` installs: SOURCE read as a local folder or a Git URL, the
// --set values typed as spec.options takes them, and the Module object they make. Pure
// functions of their arguments (the local folder is only read); thread-safe.

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"

namespace cenv::cli {

// Whether SOURCE names a Git repository rather than a folder: it starts with https://,
// http://, ssh://, git:// or file://, or has the scp-like form user@host:path.
bool is_git_url(std::string_view source);

// spec.source.git of `module add`.
struct GitSourceArg {
  std::string url;
  std::string ref;     // empty: the CRD's default (main)
  std::string subdir;  // empty: the repository's root
};

// Reads a Git SOURCE: "URL" or "URL#REF", with --ref (`ref_flag`) and --subdir. Invalid when
// the URL is empty, or when "#REF" and --ref are both given and differ.
Result<GitSourceArg> parse_git_source(std::string_view source, std::string_view ref_flag,
                                      std::string_view subdir_flag);

// The Module name `module add` gives a Git source without --name: the last component of
// `subdir` when set, else of the URL's path, without ".git", in lower case with every
// character other than a letter, digit or '-' as '-'. Invalid (asking for --name) when that is
// not a DNS-1123 label.
Result<std::string> module_name_from_git(const GitSourceArg& git);

// A local SOURCE, as `module add` sends it: the folder, and the directory and relative path
// pack_module_sources resolves it from (cli/module_packing.h).
struct LocalSourceArg {
  std::filesystem::path folder;  // canonical
  // `cwd` when the folder is inside it (`path` then relative to the working directory, "."
  // for the working directory itself); otherwise the folder's parent (`path` its name).
  std::filesystem::path dir;
  std::string path;
};

// Finds the folder SOURCE names, relative to `cwd`. NotFound when it does not exist (saying
// which forms a Git URL takes), Invalid when it is not a directory.
Result<LocalSourceArg> locate_local_source(std::string_view source,
                                           const std::filesystem::path& cwd);

// The name in the folder's cenv-module.yaml, read with modules::parse_module_manifest, so a
// bad manifest is refused here with its file and field. NotFound when there is none.
Result<std::string> manifest_name_in(const std::filesystem::path& folder);

// Parses --set KEY=VALUE arguments into spec.options: "true" and "false" become booleans, a
// decimal integer (optional '-') within int64 becomes an integer, anything else a string
// ("KEY=" the empty string). A later KEY replaces an earlier one. Invalid naming the argument
// when it has no '=' or an empty KEY.
Result<boost::json::object> parse_option_values(const std::vector<std::string>& sets);

// A Module `name` in namespace `ns` with spec.source = `source` and, when not empty,
// spec.options = `options`.
Object module_object(const std::string& name, const std::string& ns, boost::json::object source,
                     boost::json::object options);

}  // namespace cenv::cli
