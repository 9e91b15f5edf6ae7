#include "cli/module_views.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "api/clock.h"
#include "api/conditions.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "cli/printers.h"
#include "cli/table.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

std::string or_none(std::string_view s) { return s.empty() ? "<none>" : std::string(s); }

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// An argument array as a shell would read it back: words with blanks or quotes in quotes.
std::string command_line(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const std::string& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    if (plain) {
      words.push_back(a);
      continue;
    }
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    words.push_back(q + "'");
  }
  return escape_for_display(joined(words, " "));
}

std::string condition_status(const Object& o, std::string_view type) {
  auto c = get_condition(o, type);
  return c ? c->status : "<none>";
}

std::string commands_cell(const Object& m) {
  const json::object* status = m.status_or_null();
  const json::value* commands = status ? value_field(*status, "commands") : nullptr;
  if (commands && commands->is_object()) return std::to_string(commands->get_object().size());
  if (commands && commands->is_array()) return std::to_string(commands->get_array().size());
  // Fetched without commands: none; not fetched yet: unknown.
  return string_field(status, "revision").empty() ? "<none>" : "0";
}

std::string source_text(const Object& m) {
  const json::object* source = object_field(m.spec_or_null(), "source");
  if (!source) return "inline (spec.requires and spec.install)";
  if (const json::object* git = object_field(source, "git")) {
    std::string text = "git " + std::string(string_field(*git, "url"));
    std::vector<std::string> details;
    if (auto ref = string_field(*git, "ref"); !ref.empty())
      details.push_back("ref " + std::string(ref));
    if (auto sub = string_field(*git, "subdir"); !sub.empty()) {
      details.push_back("subdir " + std::string(sub));
    }
    if (!details.empty()) text += " (" + joined(details, ", ") + ")";
    return escape_for_display(text);
  }
  std::string text = "path " + std::string(string_field(*source, "path"));
  if (auto digest = string_field(*source, "digest"); !digest.empty()) {
    text += " (uploaded, " + short_revision(digest) + ")";
  }
  return escape_for_display(text);
}

std::string options_text(const Object& m) {
  const json::object* options = object_field(m.spec_or_null(), "options");
  if (!options || options->empty()) return "<none>";
  std::vector<std::string> items;
  for (const auto& kv : *options) {
    const json::value& v = kv.value();
    items.push_back(std::string(kv.key()) + "=" +
                    (v.is_string() ? std::string(v.get_string()) : json::serialize(v)));
  }
  return escape_for_display(joined(items, ", "));
}

void print_requires(const Object& m, std::ostream& out) {
  const json::object* requires_ = object_field(m.status_or_null(), "requires");
  out << "Requires:";
  if (!requires_) {
    out << "     <unknown until fetched>\n";
    return;
  }
  out << "\n";
  std::vector<std::vector<std::string>> rows;
  for (std::string_view kind : {"apt", "pip"}) {
    std::string list = joined(string_list_field(*requires_, kind), ", ");
    rows.push_back({std::string(kind) + ":", escape_for_display(or_none(list))});
  }
  std::string modules = joined(string_list_field(*requires_, "modules"), ", ");
  rows.push_back({"modules:", escape_for_display(or_none(modules))});
  print_rows(rows, out, {.indent = "  ", .gap = 2});
}

void print_commands(const Object& m, std::ostream& out) {
  const json::object* commands = object_field(m.status_or_null(), "commands");
  out << "Commands:";
  std::vector<std::string> names = command_names(m);
  if (names.empty()) {
    out << "     <none>\n";
    return;
  }
  out << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const std::string& name : names) {
    const json::object* c = object_field(commands, name);
    std::vector<std::string> argv = string_list_field(c, "command");
    for (auto& a : string_list_field(c, "args")) argv.push_back(std::move(a));
    rows.push_back({escape_for_display(name),
                    escape_for_display(or_none(string_field(c, "description"))),
                    argv.empty() ? "" : "(" + command_line(argv) + ")"});
  }
  print_rows(rows, out, {.indent = "  ", .gap = 2});
}

void print_services(const Object& m, const std::vector<Object>& services, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  for (const Object& s : services) {
    const json::array* owners = array_field(s.metadata_or_null(), "ownerReferences");
    if (!owners) continue;
    bool owned = std::any_of(owners->begin(), owners->end(), [&](const json::value& ref) {
      return ref.is_object() && string_field(ref.get_object(), "uid") == m.uid();
    });
    if (owned) {
      rows.push_back({std::string(s.name()), or_none(string_field(s.status_or_null(), "phase"))});
    }
  }
  out << "Services:";
  if (rows.empty()) {
    out << "     <none>\n";
    return;
  }
  out << "\n";
  print_rows(rows, out, {.indent = "  ", .gap = 2});
}

// The module graph `module tree` walks.
struct ModuleGraph {
  std::map<std::string, const Object*> modules;               // by name
  std::map<std::string, std::string> built;                   // name -> revision in the image
  std::map<std::string, std::vector<std::string>> requires_;  // name -> required names
  std::set<std::string> expanded;                             // printed with their dependencies
};

std::string tree_label(const ModuleGraph& g, const std::string& name) {
  auto m = g.modules.find(name);
  auto b = g.built.find(name);
  if (m == g.modules.end()) {
    if (b != g.built.end())
      return name + " (" + short_revision(b->second) + ") (removed, still in the image)";
    return name + " (missing)";
  }
  const json::object* status = m->second->status_or_null();
  std::string version(string_field(status, "version"));
  std::string revision(string_field(status, "revision"));
  std::string label = name + "@" + (version.empty() ? "?" : version);
  if (!revision.empty()) label += " (" + short_revision(revision) + ")";
  if (b == g.built.end()) {
    label += " (not resolved)";
  } else if (!revision.empty() && b->second != revision) {
    label += " (image has " + short_revision(b->second) + ")";
  }
  return label;
}

void print_branch(ModuleGraph& g, const std::string& name, const std::string& prefix, bool last,
                  std::vector<std::string>& path, std::ostream& out) {
  out << prefix << (last ? "└── " : "├── ") << escape_for_display(tree_label(g, name));
  const std::vector<std::string>& deps = g.requires_[name];
  if (std::find(path.begin(), path.end(), name) != path.end()) {
    out << " (cycle)\n";
    return;
  }
  if (!deps.empty() && g.expanded.count(name)) {
    out << " deduped\n";
    return;
  }
  out << "\n";
  g.expanded.insert(name);
  path.push_back(name);
  std::string inner = prefix + (last ? "    " : "│   ");
  for (size_t i = 0; i < deps.size(); ++i) {
    print_branch(g, deps[i], inner, i + 1 == deps.size(), path, out);
  }
  path.pop_back();
}

}  // namespace

std::string short_revision(std::string_view revision) {
  if (revision.starts_with("sha256:")) revision.remove_prefix(7);
  return std::string(revision.substr(0, 12));
}

std::vector<std::string> required_module_names(const Object& module) {
  const json::array* items =
      array_field(object_field(module.status_or_null(), "requires"), "modules");
  std::vector<std::string> names;
  if (!items) return names;
  for (const json::value& item : *items) {
    std::string_view name;
    if (item.is_string()) {
      name = item.get_string();
      name = name.substr(0, name.find_first_of(" @<>=^~!"));
    } else if (item.is_object()) {
      name = string_field(item.get_object(), "name");
    }
    if (!name.empty()) names.emplace_back(name);
  }
  return names;
}

std::vector<std::string> command_names(const Object& module) {
  const json::object* status = module.status_or_null();
  const json::value* commands = status ? value_field(*status, "commands") : nullptr;
  std::vector<std::string> names;
  if (commands && commands->is_object()) {
    for (const auto& kv : commands->get_object()) names.emplace_back(kv.key());
  } else if (commands && commands->is_array()) {
    for (const auto& v : commands->get_array()) {
      if (v.is_string()) names.emplace_back(v.get_string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

void print_module_table(const std::vector<Object>& modules, bool headers,
                        std::chrono::system_clock::time_point now, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  if (headers) rows.push_back({"NAME", "VERSION", "REVISION", "READY", "COMMANDS", "AGE"});
  for (const Object& m : modules) {
    const json::object* status = m.status_or_null();
    std::string revision = short_revision(string_field(status, "revision"));
    const json::object* meta = m.metadata_or_null();
    rows.push_back({escape_for_display(m.name()),
                    escape_for_display(or_none(string_field(status, "version"))), or_none(revision),
                    condition_status(m, "Ready"), commands_cell(m),
                    age_of(string_field(meta, "creationTimestamp"), now)});
  }
  print_rows(rows, out);
}

void print_module_details(const Object& module, const std::vector<Object>& services,
                          std::chrono::system_clock::time_point now, std::ostream& out) {
  const json::object* status = module.status_or_null();
  std::vector<std::vector<std::string>> head = {
      {"Name:", escape_for_display(module.name())},
      {"Namespace:", escape_for_display(module.ns())},
      {"Source:", source_text(module)},
      {"Options:", options_text(module)},
      {"Version:", escape_for_display(or_none(string_field(status, "version")))},
      {"Revision:", escape_for_display(or_none(string_field(status, "revision")))},
  };
  print_rows(head, out, {.indent = "", .gap = 4});
  print_requires(module, out);
  print_commands(module, out);
  print_services(module, services, out);
  print_conditions(module.status_or_null(), now, out);
}

void print_module_tree(const std::string& env_name, const Object* environment,
                       const std::vector<Object>& modules, std::ostream& out) {
  ModuleGraph g;
  std::vector<std::string> order;  // install order, then the rest by name
  const json::object* env_status = environment ? environment->status_or_null() : nullptr;
  for (const std::string& entry : string_list_field(env_status, "modules")) {
    size_t at = entry.find('@');
    std::string name = entry.substr(0, at);
    g.built[name] = at == std::string::npos ? "" : entry.substr(at + 1);
    order.push_back(name);
  }
  std::vector<std::string> rest;
  for (const Object& m : modules) {
    std::string name(m.name());
    g.modules[name] = &m;
    g.requires_[name] = required_module_names(m);
    if (!g.built.count(name)) rest.push_back(name);
  }
  std::sort(rest.begin(), rest.end());
  order.insert(order.end(), rest.begin(), rest.end());

  std::string image(string_field(env_status, "image"));
  out << escape_for_display(env_name);
  if (!environment) {
    out << " (no such Environment)\n";
  } else {
    out << (image.empty() ? " (no runtime image yet)" : " " + escape_for_display(image)) << "\n";
  }
  std::set<std::string> required;
  for (const auto& [name, deps] : g.requires_) required.insert(deps.begin(), deps.end());
  std::vector<std::string> roots;
  for (const std::string& name : order) {
    if (!required.count(name)) roots.push_back(name);
  }
  // Modules only reachable through a cycle have no root: they are roots themselves.
  std::set<std::string> reachable;
  std::function<void(const std::string&)> reach = [&](const std::string& n) {
    if (!reachable.insert(n).second) return;
    for (const auto& d : g.requires_[n]) reach(d);
  };
  for (const auto& r : roots) reach(r);
  for (const std::string& name : order) {
    if (!reachable.count(name)) {
      roots.push_back(name);
      reach(name);
    }
  }
  if (roots.empty()) out << "└── (no modules)\n";
  std::vector<std::string> path;
  for (size_t i = 0; i < roots.size(); ++i) {
    print_branch(g, roots[i], "", i + 1 == roots.size(), path, out);
  }
}

}  // namespace cenv::cli
