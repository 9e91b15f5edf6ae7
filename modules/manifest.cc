#include "modules/manifest.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/version.h"
#include "api/yaml_reader.h"
#include "modules/manifest_schema.h"

namespace cenv::modules {

namespace json = boost::json;

namespace {

std::string quoted(std::string_view s) { return "\"" + escape_for_display(s) + "\""; }

bool is_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Field paths as api/schema_validation writes them: "a.b", "a[0]", "options[my-opt]".
std::string member(std::string_view path, std::string_view key) {
  if (is_identifier(key)) return std::string(path) + (path.empty() ? "" : ".") + std::string(key);
  return std::string(path) + "[" + escape_for_display(key) + "]";
}

std::string index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// One Invalid whose message has a line per error: "<file>: <path>: <message>".
Status invalid(std::string_view file, const std::vector<FieldError>& errors) {
  std::string message;
  for (const FieldError& e : errors) {
    if (!message.empty()) message += '\n';
    message += file;
    if (!e.path.empty()) message += ": " + e.path;
    message += ": " + e.message;
  }
  return Status::Invalid(std::move(message));
}

// Variables an option may not set: the install step needs them as they are, and CENV_* are
// cenv's own (CENV_MODULE_DIR).
bool reserved_variable(std::string_view v) {
  return v == "PATH" || v == "HOME" || v == "PWD" || v.starts_with("CENV_");
}

// Reads the fields an inline Module and a manifest share, from an object validated against
// its schema (so types hold; a type that does not is reported, not assumed). `prefix` is ""
// for a manifest and "spec." for a Module.
class FieldReader {
 public:
  FieldReader(std::string prefix, std::vector<FieldError>& errors)
      : prefix_(std::move(prefix)), errors_(errors) {}

  void fail(const std::string& path, std::string message) {
    errors_.push_back({prefix_ + path, std::move(message)});
  }

  std::vector<std::string> strings(const json::value* v, const std::string& path) {
    std::vector<std::string> out;
    if (!v) return out;
    if (!v->is_array()) {
      fail(path, "must be a list of strings");
      return out;
    }
    const json::array& a = v->get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_string()) {
        out.emplace_back(a[i].get_string());
      } else {
        fail(index(path, i), "must be a string");
      }
    }
    return out;
  }

  void requirements(const json::object* requirements, Requirements& out) {
    if (!requirements) return;
    std::vector<std::string> apt = strings(value_field(*requirements, "apt"), "requires.apt");
    for (size_t i = 0; i < apt.size(); ++i) {
      std::optional<AptRequirement> r = apt_requirement(apt[i]);
      if (!r) {
        fail(index("requires.apt", i),
             "Invalid value: " + quoted(apt[i]) +
                 ": must be a Debian package name, optionally with =version");
        continue;
      }
      out.apt.push_back(std::move(*r));
    }
    std::vector<std::string> pip = strings(value_field(*requirements, "pip"), "requires.pip");
    for (size_t i = 0; i < pip.size(); ++i) {
      PipRequirement r = pip_requirement(pip[i]);
      if (r.name.empty()) {
        fail(index("requires.pip", i),
             "Invalid value: " + quoted(pip[i]) + ": must start with a package name");
        continue;
      }
      out.pip.push_back(std::move(r));
    }
    dependencies(value_field(*requirements, "modules"), out.modules);
  }

  void commands(const json::object* commands, std::map<std::string, ModuleCommand>& out) {
    if (!commands) return;
    for (const auto& kv : *commands) {
      std::string path = member("commands", kv.key());
      if (!kv.value().is_object()) {
        fail(path, "must be an object");
        continue;
      }
      const json::object& c = kv.value().get_object();
      ModuleCommand command;
      command.command = strings(value_field(c, "command"), path + ".command");
      if (command.command.empty()) fail(path + ".command", "Required value");
      command.args = strings(value_field(c, "args"), path + ".args");
      command.description = std::string(string_field(c, "description"));
      out.emplace(std::string(kv.key()), std::move(command));
    }
  }

  void services(const json::object* services, std::map<std::string, json::object>& out) {
    if (!services) return;
    for (const auto& kv : *services) {
      if (!kv.value().is_object()) {
        fail(member("services", kv.key()), "must be an object");
        continue;
      }
      out.emplace(std::string(kv.key()), kv.value().get_object());
    }
  }

 private:
  // "name" or "name=version" as the schema's pattern allows them
  // (^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$); nullopt otherwise.
  static std::optional<AptRequirement> apt_requirement(const std::string& text) {
    size_t eq = text.find('=');
    AptRequirement r;
    r.package = text.substr(0, eq);
    if (eq != std::string::npos) r.version = text.substr(eq + 1);
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    bool package_ok = !r.package.empty() && lower_alnum(r.package[0]) &&
                      std::all_of(r.package.begin(), r.package.end(), [&](char c) {
                        return lower_alnum(c) || c == '+' || c == '.' || c == '-';
                      });
    bool version_ok =
        eq == std::string::npos ||
        (!r.version.empty() && std::all_of(r.version.begin(), r.version.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '~' ||
                 c == ':' || c == '-';
        }));
    if (!package_ok || !version_ok) return std::nullopt;
    return r;
  }

  static PipRequirement pip_requirement(const std::string& text) {
    PipRequirement r;
    r.text = text;
    size_t end = 0;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                 text[end] == '.' || text[end] == '_' || text[end] == '-')) {
      ++end;
    }
    // PEP 503 normalization: lower case, every run of '-', '_' and '.' as one '-'.
    for (size_t i = 0; i < end; ++i) {
      char c = text[i];
      if (c == '-' || c == '_' || c == '.') {
        if (r.name.empty() || r.name.back() != '-') r.name.push_back('-');
      } else {
        r.name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
    }
    size_t specs = text.find_first_of("=!<>~", end);
    if (specs == std::string::npos) return r;
    std::string_view rest(text);
    rest.remove_prefix(specs);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view spec = rest.substr(0, comma);
      if (spec.starts_with("===")) {
        r.pin = std::string(spec.substr(3));
      } else if (spec.starts_with("==") && spec.find('*') == std::string_view::npos) {
        r.pin = std::string(spec.substr(2));
      }
      if (!r.pin.empty() || comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return r;
  }

  // requires.modules: names, or {name, version} objects (a manifest's strings are turned into
  // objects before its schema check; an inline Module's are names).
  void dependencies(const json::value* v, std::vector<ModuleDependency>& out) {
    if (!v) return;
    if (!v->is_array()) {
      fail("requires.modules", "must be a list");
      return;
    }
    const json::array& a = v->get_array();
    std::set<std::string> seen;
    for (size_t i = 0; i < a.size(); ++i) {
      std::string path = index("requires.modules", i);
      ModuleDependency dep;
      if (a[i].is_string()) {
        dep.name = std::string(a[i].get_string());
      } else if (a[i].is_object()) {
        dep.name = std::string(string_field(a[i].get_object(), "name"));
        if (const json::value* range = value_field(a[i].get_object(), "version")) {
          if (!range->is_string()) {
            fail(path + ".version", "must be a string");
            continue;
          }
          Result<VersionRange> parsed = parse_range(range->get_string());
          if (!parsed.ok()) {
            fail(path + ".version", parsed.status().message());
            continue;
          }
          dep.range = std::move(*parsed);
        }
      } else {
        fail(path, "must be a module name or {name, version}");
        continue;
      }
      if (!seen.insert(dep.name).second) {
        fail(path, "Duplicate value: " + quoted(dep.name));
        continue;
      }
      out.push_back(std::move(dep));
    }
  }

  std::string prefix_;
  std::vector<FieldError>& errors_;
};

// requires.modules strings become {name: ...}, the one form the schema describes.
void normalize_dependencies(json::object& manifest) {
  json::value* requirements = manifest.if_contains("requires");
  if (!requirements || !requirements->is_object()) return;
  json::value* modules = requirements->get_object().if_contains("modules");
  if (!modules || !modules->is_array()) return;
  for (json::value& item : modules->get_array()) {
    if (item.is_string()) item = json::object{{"name", item.get_string()}};
  }
}

void read_options(const json::object* options, ModuleManifest& m, FieldReader& r) {
  if (!options) return;
  std::map<std::string, std::string> variables;  // variable -> option that sets it
  for (const auto& kv : *options) {
    std::string name(kv.key());
    std::string path = member("options", name);
    const json::object* o = kv.value().is_object() ? &kv.value().get_object() : nullptr;
    if (!o) continue;  // the schema reported it
    OptionSpec spec;
    std::string_view type = string_field(*o, "type");
    spec.type = type == "boolean"   ? OptionType::kBoolean
                : type == "integer" ? OptionType::kInteger
                : type == "enum"    ? OptionType::kEnum
                                    : OptionType::kString;
    spec.description = std::string(string_field(*o, "description"));
    spec.values = r.strings(value_field(*o, "enum"), path + ".enum");
    bool values_ok = true;
    if (spec.type == OptionType::kEnum && spec.values.empty()) {
      r.fail(path + ".enum", "Required value: an option of type enum lists its values");
      values_ok = false;
    } else if (spec.type != OptionType::kEnum && value_field(*o, "enum")) {
      r.fail(path + ".enum", "Forbidden: only an option of type enum lists values");
    }
    if (const json::value* d = value_field(*o, "default"); d && values_ok) {
      Result<std::string> text = option_value_text(spec, *d);
      if (text.ok()) {
        spec.default_value = std::move(*text);
      } else {
        r.fail(path + ".default", "the option is of type " +
                                      std::string(option_type_name(spec.type)) + ": " +
                                      text.status().message());
      }
    }
    std::string variable = option_variable(name);
    if (reserved_variable(variable)) {
      r.fail(path, "Invalid value: " + quoted(name) + ": its variable " + variable +
                       " is reserved (PATH, HOME, PWD and CENV_*)");
    } else if (auto [it, inserted] = variables.emplace(variable, name); !inserted) {
      r.fail(path, "Invalid value: " + quoted(name) + ": option " + quoted(it->second) +
                       " sets the same variable " + variable);
    }
    m.options.emplace(std::move(name), std::move(spec));
  }
}

void read_env(const json::object* env, ModuleManifest& m, FieldReader& r) {
  if (!env) return;
  for (const auto& kv : *env) {
    if (!kv.value().is_string()) continue;  // the schema reported it
    std::string_view value = kv.value().get_string();
    bool control = std::any_of(value.begin(), value.end(), [](char c) {
      auto u = static_cast<unsigned char>(c);
      return (u < 0x20 && c != '\t') || u == 0x7f;
    });
    if (control) {
      r.fail(member("env", kv.key()),
             "Invalid value: " + quoted(value) + ": must be one line without control characters");
      continue;
    }
    m.env.emplace(std::string(kv.key()), std::string(value));
  }
}

// The typed manifest of a schema-valid document; semantic errors go to `errors`.
ModuleManifest read_manifest(const json::object& doc, std::vector<FieldError>& errors) {
  ModuleManifest m;
  FieldReader r("", errors);
  m.name = std::string(string_field(doc, "name"));
  m.description = std::string(string_field(doc, "description"));
  if (Result<Version> v = parse_version(string_field(doc, "version")); v.ok()) {
    m.version = std::move(*v);
  } else {
    r.fail("version", v.status().message());
  }
  if (const json::value* c = value_field(doc, "compatibility"); c && c->is_string()) {
    Result<VersionRange> range = parse_range(c->get_string());
    if (!range.ok()) {
      r.fail("compatibility", range.status().message());
    } else if (Version cenv = cenv_version(); !range->contains(cenv)) {
      r.fail("compatibility", "this module needs cenv " + quoted(range->text()) +
                                  ", but this is cenv " + cenv.text());
    } else {
      m.compatibility = std::move(*range);
    }
  }
  r.requirements(object_field(doc, "requires"), m.requirements);
  for (size_t i = 0; i < m.requirements.modules.size(); ++i) {
    if (m.requirements.modules[i].name == m.name) {
      r.fail(index("requires.modules", i) + ".name", "a module cannot require itself");
    }
  }
  m.installs_after = r.strings(value_field(doc, "installsAfter"), "installsAfter");
  for (size_t i = 0; i < m.installs_after.size(); ++i) {
    if (m.installs_after[i] == m.name) {
      r.fail(index("installsAfter", i), "a module cannot install after itself");
    }
  }
  read_options(object_field(doc, "options"), m, r);
  if (std::string_view install = string_field(doc, "install"); !install.empty()) {
    m.install = {InstallStep::Kind::kScriptFile, std::string(install)};
  }
  read_env(object_field(doc, "env"), m, r);
  r.commands(object_field(doc, "commands"), m.commands);
  r.services(object_field(doc, "services"), m.services);
  return m;
}

}  // namespace

Version cenv_version() {
  std::string text = api::version_string();
  Result<Version> v = parse_version(std::string_view(text).substr(0, text.find(' ')));
  assert(v.ok() && "the project version is a semantic version");
  return v.ok() ? *v : Version{};
}

Result<ModuleManifest> parse_module_manifest(std::string_view text, std::string_view file) {
  ParseLimits limits;
  limits.max_bytes = kMaxModuleManifestBytes;
  Result<std::vector<Document>> docs = ::cenv::parse_manifest(text, file, limits);
  if (!docs.ok()) return docs.status();
  if (docs->empty()) return Status::Invalid(std::string(file) + ": the manifest is empty");
  if (docs->size() > 1) {
    return Status::Invalid(std::string(file) + ": holds " + std::to_string(docs->size()) +
                           " YAML documents; a manifest is one");
  }
  json::value& value = docs->front().value;
  if (!value.is_object()) return Status::Invalid(std::string(file) + ": must be a YAML mapping");
  json::object& doc = value.get_object();

  std::vector<FieldError> errors;
  // The schema check treats these as an object's identity; a manifest has none.
  for (std::string_view key : {"apiVersion", "kind", "metadata"}) {
    if (doc.contains(key)) errors.push_back({std::string(key), "unknown field"});
  }
  normalize_dependencies(doc);
  Status schema = validate_manifest_schema(doc);
  if (schema.code() == Code::kInternal) return schema;
  errors.insert(errors.end(), schema.fields().begin(), schema.fields().end());
  if (!errors.empty()) return invalid(file, errors);

  ModuleManifest m = read_manifest(doc, errors);
  if (!errors.empty()) return invalid(file, errors);
  return m;
}

Result<ModuleManifest> manifest_from_tree(const FileTree& files, std::string_view source) {
  std::string file = source.empty() ? std::string(kManifestFile)
                                    : std::string(source) + "/" + std::string(kManifestFile);
  auto it = files.files.find(std::string(kManifestFile));
  if (it == files.files.end()) return Status::NotFound(file + ": no such file");
  Result<ModuleManifest> m = parse_module_manifest(it->second.data, file);
  if (!m.ok()) return m;
  if (m->install.kind == InstallStep::Kind::kScriptFile && !files.files.contains(m->install.text)) {
    return invalid(file, {{"install", "Invalid value: " + quoted(m->install.text) +
                                          ": no such file in the module"}});
  }
  return m;
}

Result<ModuleManifest> manifest_from_inline(const Object& module) {
  std::string label = "Module " + quoted(module.name());
  const json::object* spec = module.spec_or_null();
  if (spec && value_field(*spec, "source")) {
    return Status::Invalid(label + " has a source: its manifest is cenv-module.yaml");
  }
  std::vector<FieldError> errors;
  FieldReader r("spec.", errors);
  ModuleManifest m;
  m.name = std::string(module.name());
  if (spec) {
    r.requirements(object_field(*spec, "requires"), m.requirements);
    if (std::string_view install = string_field(*spec, "install"); !install.empty()) {
      m.install = {InstallStep::Kind::kInlineScript, std::string(install)};
    }
    r.commands(object_field(*spec, "commands"), m.commands);
    r.services(object_field(*spec, "services"), m.services);
  }
  if (!errors.empty()) return invalid(label, errors);
  return m;
}

}  // namespace cenv::modules
