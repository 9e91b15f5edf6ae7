#include "cli/convert_cmd.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "api/write_normalization.h"
#include "api/yaml_codec.h"
#include "cli/common.h"
#include "cli/compose_converter.h"
#include "cli/compose_variables.h"

namespace cenv::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The keys of block YAML leading to line `line` of `text` ("services.web.labels"), read from
// the indentation of the lines above it: what a parse error at that line is under.
std::string key_path_at(std::string_view text, int line) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size() && static_cast<int>(lines.size()) < line;) {
    size_t nl = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  std::vector<std::string> keys;
  size_t limit = std::string_view::npos;  // keys must be indented less than this
  for (size_t i = lines.size(); i-- > 0;) {
    std::string_view l = lines[i];
    size_t indent = l.find_first_not_of(' ');
    if (indent == std::string_view::npos || l[indent] == '#') continue;
    size_t key_start = indent;
    if (l.substr(indent, 2) == "- ") key_start = l.find_first_not_of(' ', indent + 2);
    if (key_start == std::string_view::npos || key_start >= limit) continue;
    size_t colon = l.find(": ", key_start);
    if (colon == std::string_view::npos && l.back() == ':') colon = l.size() - 1;
    if (colon == std::string_view::npos) continue;
    std::string_view key = l.substr(key_start, colon - key_start);
    if (key.empty() || key.find_first_of("[]{}\"'") != std::string_view::npos) continue;
    keys.emplace_back(key);
    limit = indent;
    if (indent == 0) break;
  }
  std::string path;
  for (size_t i = keys.size(); i-- > 0;) path += (path.empty() ? "" : ".") + keys[i];
  return path;
}

// A parse error of `path` with the key it is under: "f.yml: line 4 (services.web.labels): ...".
Status with_key_path(const Status& failed, const std::string& path) {
  const std::string& m = failed.message();
  std::string prefix = path + ": line ";
  if (!m.starts_with(prefix)) return failed;
  int line = std::atoi(m.c_str() + prefix.size());
  size_t end = m.find(':', prefix.size());
  std::ifstream f(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string keys = line > 0 && end != std::string::npos ? key_path_at(text, line) : "";
  if (keys.empty()) return failed;
  return Status::Invalid(m.substr(0, end) + " (" + keys + ")" + m.substr(end));
}

// The compose file's one document, interpolated with `lookup` (compose_lookup).
Result<json::value> read_compose(const std::string& path, const VariableLookup& lookup,
                                 std::vector<std::string>* warnings) {
  auto docs = read_manifest_file(path);
  if (!docs.ok()) return with_key_path(docs.status(), path);
  if (docs.value().empty()) return Status::Invalid(path + ": the file is empty");
  if (docs.value().size() > 1) {
    return Status::Invalid(path + ": document " + std::to_string(docs.value()[1].index) +
                           ": a compose file is one YAML document");
  }
  json::value doc = std::move(docs.value()[0].value);
  CENV_RETURN_IF_ERROR(interpolate_compose(doc, lookup, path, warnings));
  return doc;
}

// The variables of the compose file at `path`, as docker compose's project environment: the
// process environment over the `.env` file beside the compose file.
Result<VariableLookup> compose_lookup(const std::string& path) {
  std::map<std::string, std::string> dotenv;
  fs::path env_file = fs::path(path).parent_path() / ".env";
  std::error_code ec;
  if (fs::exists(env_file, ec)) {
    auto entries = read_dotenv_file(env_file.string());
    if (!entries.ok()) return entries.status();
    for (auto& [name, value] : entries.value()) dotenv[name] = value;
  }
  return VariableLookup([dotenv](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    if (auto it = dotenv.find(name); it != dotenv.end()) return it->second;
    return std::nullopt;
  });
}

// The project name docker compose would use: the compose file's folder name.
std::string folder_name(const std::string& path) {
  std::error_code ec;
  fs::path dir = fs::absolute(path, ec).parent_path();
  std::string name = dir.filename().string();
  return name.empty() ? "compose" : name;
}

// Every object as `cenv apply` would check it, without changing what is written.
Status check_objects(const std::vector<json::object>& objects) {
  for (const json::object& o : objects) {
    Object copy{json::object(o)};
    auto kind = manifest_kind(copy, registry());
    Status s =
        kind.ok() ? normalize_for_write(copy, *kind.value(), registry()).status() : kind.status();
    if (!s.ok()) {
      std::string lines;
      for (const auto& line : write_problems(s, copy)) lines += (lines.empty() ? "" : "\n") + line;
      return Status::Invalid(lines);
    }
  }
  return Status::Ok();
}

Status write_files(const std::vector<json::object>& objects, const std::string& dir,
                   const std::string& header, std::ostream& out) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return Status::Invalid(dir + ": cannot make the output folder" +
                           (ec ? ": " + ec.message() : ""));
  }
  for (const json::object& o : objects) {
    std::string kind(o.at("kind").get_string());
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string name(o.at("metadata").at("name").get_string());
    name += "-" + kind + ".yaml";
    fs::path file = fs::path(dir) / name;
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f << header << to_yaml(json::value(o));
    f.close();
    if (!f) return Status::Invalid(file.string() + ": cannot be written");
    out << file.string() << "\n";
  }
  return Status::Ok();
}

}  // namespace

int run_convert(const ConvertFlags& flags, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) {
    err << "error: " << s.message() << "\n";
    return 1;
  };
  std::vector<std::string> warnings;
  auto lookup = compose_lookup(flags.file);
  if (!lookup.ok()) return fail(lookup.status());
  auto doc = read_compose(flags.file, lookup.value(), &warnings);
  if (!doc.ok()) return fail(doc.status());
  ComposeConvertOptions options;
  options.source = flags.file;
  options.base_dir = fs::path(flags.file).parent_path().string();
  if (options.base_dir.empty()) options.base_dir = ".";
  options.environment = flags.environment;
  options.project = folder_name(flags.file);
  options.lookup = lookup.value();
  auto converted = convert_compose(doc.value(), options);
  if (!converted.ok()) return fail(converted.status());
  warnings.insert(warnings.end(), converted->warnings.begin(), converted->warnings.end());
  if (Status s = check_objects(converted->objects); !s.ok()) {
    return fail(
        Status::Invalid(flags.file + ": the converted objects are invalid:\n" + s.message()));
  }
  for (const std::string& w : warnings) err << "warning: " << flags.file << ": " << w << "\n";
  std::string header = "# Converted by cenv convert from " + flags.file + "\n";
  if (!flags.output_dir.empty()) {
    Status s = write_files(converted->objects, flags.output_dir, header, out);
    return s.ok() ? 0 : fail(s);
  }
  out << header;
  bool first = true;
  for (const json::object& o : converted->objects) {
    if (!first) out << "---\n";
    first = false;
    out << to_yaml(json::value(o));
  }
  return 0;
}

void add_convert(CLI::App& app, ConvertFlags& flags, int& rc) {
  auto* convert = app.add_subcommand(
      "convert",
      "Convert a docker compose file into cenv manifests: an Environment and one Service per "
      "compose service (what cannot be carried over is listed as warnings on stderr)");
  convert->add_option("-f,--file", flags.file, "The compose file (docker-compose.yml)")->required();
  convert->add_option("-o,--out", flags.output_dir,
                      "Folder to write one file per object into (NAME-environment.yaml, "
                      "NAME-service.yaml; made if missing). Default: one multi-document YAML "
                      "stream on stdout");
  convert->add_option("--environment", flags.environment,
                      "Name of the Environment (default: the compose file's name, else the name "
                      "of its folder)");
  convert->callback([&flags, &rc] { rc = run_convert(flags, std::cout, std::cerr); });
}

}  // namespace cenv::cli
