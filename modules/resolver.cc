#include "modules/resolver.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <utility>

namespace cenv::modules {

namespace {

// The modules by manifest name, with the edges between them.
struct Graph {
  std::vector<InstalledModule>& modules;
  std::map<std::string, size_t> by_name;          // manifest name -> index into modules
  std::vector<std::vector<size_t>> dependencies;  // hard: installed before the module
  std::vector<std::vector<size_t>> after;         // soft: installsAfter, installed ones only
};

const std::string& name_of(const InstalledModule& m) { return m.manifest.name; }

// How messages name a module: its manifest's name, and the Module object when that differs.
std::string label(const InstalledModule& m) {
  if (m.name == m.manifest.name) return m.manifest.name;
  return m.manifest.name + " (Module " + m.name + ")";
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

// Indexes the modules by manifest name and checks every hard dependency: installed, in range.
// Appends a message per problem.
void build_graph(Graph& g, std::vector<std::string>& problems) {
  for (size_t i = 0; i < g.modules.size(); ++i) {
    auto [it, inserted] = g.by_name.emplace(name_of(g.modules[i]), i);
    if (!inserted) {
      std::string a = g.modules[it->second].name;
      std::string b = g.modules[i].name;
      if (b < a) std::swap(a, b);
      std::string problem = "Modules " + a;
      problem += " and " + b + " both install module " + name_of(g.modules[i]);
      problems.push_back(std::move(problem));
    }
  }
  if (!problems.empty()) return;
  g.dependencies.resize(g.modules.size());
  g.after.resize(g.modules.size());
  for (const auto& [name, i] : g.by_name) {  // by name: problems come in a stable order
    const InstalledModule& m = g.modules[i];
    for (const ModuleDependency& dep : m.manifest.requirements.modules) {
      auto found = g.by_name.find(dep.name);
      if (found == g.by_name.end()) {
        problems.push_back("module " + label(m) + " requires " + dep.name + " (" +
                           dep.range_text() + "), which is not installed in this environment");
        continue;
      }
      const ModuleManifest& target = g.modules[found->second].manifest;
      if (dep.range && !dep.range->contains(target.version)) {
        problems.push_back("module " + label(m) + " requires " + dep.name + " " +
                           dep.range->text() + ", but " + dep.name + " is " +
                           target.version.text());
        continue;
      }
      g.dependencies[i].push_back(found->second);
    }
    for (const std::string& before : m.manifest.installs_after) {
      auto found = g.by_name.find(before);
      if (found != g.by_name.end() && found->second != i) g.after[i].push_back(found->second);
    }
  }
}

// The first dependency cycle met walking the modules and their dependencies in name order, as
// "a -> b -> c -> a"; "" when there is none.
std::string find_cycle(const Graph& g) {
  enum class Mark { kNew, kOnPath, kDone };
  std::vector<Mark> marks(g.modules.size(), Mark::kNew);
  std::vector<size_t> path;
  std::string cycle;
  auto sorted_deps = [&](size_t i) {
    std::vector<size_t> deps = g.dependencies[i];
    std::sort(deps.begin(), deps.end(),
              [&](size_t a, size_t b) { return name_of(g.modules[a]) < name_of(g.modules[b]); });
    return deps;
  };
  std::function<bool(size_t)> visit = [&](size_t i) {
    marks[i] = Mark::kOnPath;
    path.push_back(i);
    for (size_t d : sorted_deps(i)) {
      if (marks[d] == Mark::kOnPath) {
        auto start = std::find(path.begin(), path.end(), d);
        for (auto it = start; it != path.end(); ++it) cycle += name_of(g.modules[*it]) + " -> ";
        cycle += name_of(g.modules[d]);
        return true;
      }
      if (marks[d] == Mark::kNew && visit(d)) return true;
    }
    path.pop_back();
    marks[i] = Mark::kDone;
    return false;
  };
  for (const auto& [name, i] : g.by_name) {
    if (marks[i] == Mark::kNew && visit(i)) return cycle;
  }
  return {};
}

// Kahn's algorithm over hard and soft edges, taking the ready module of the smallest name
// first. Requires an acyclic hard graph.
std::vector<size_t> install_order(const Graph& g) {
  size_t n = g.modules.size();
  std::vector<size_t> hard_in(n, 0), soft_in(n, 0);
  std::vector<std::vector<size_t>> hard_out(n), soft_out(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t d : g.dependencies[i]) {
      hard_out[d].push_back(i);
      ++hard_in[i];
    }
    for (size_t b : g.after[i]) {
      soft_out[b].push_back(i);
      ++soft_in[i];
    }
  }
  using Key = std::pair<std::string, size_t>;
  std::set<Key> ready;
  std::set<Key> waiting;  // not yet emitted
  for (size_t i = 0; i < n; ++i) {
    Key key{name_of(g.modules[i]), i};
    (hard_in[i] == 0 && soft_in[i] == 0 ? ready : waiting).insert(key);
  }
  std::vector<size_t> order;
  std::vector<bool> emitted(n, false);
  while (order.size() < n) {
    if (ready.empty()) {
      // Only installsAfter edges hold the rest back, so they form a cycle (a after b, b after
      // a). installsAfter is a preference between authors who do not know each other's
      // modules; refusing the Environment over it would punish users for something harmless.
      // Drop the soft edges into the first module by name that no hard dependency holds back,
      // so the order is the same on every reconcile.
      auto free = std::find_if(waiting.begin(), waiting.end(),
                               [&](const Key& k) { return hard_in[k.second] == 0; });
      soft_in[free->second] = 0;
      ready.insert(*free);
      waiting.erase(free);
    }
    Key next = *ready.begin();
    ready.erase(ready.begin());
    size_t i = next.second;
    order.push_back(i);
    emitted[i] = true;
    auto release = [&](size_t j) {
      if (emitted[j] || hard_in[j] != 0 || soft_in[j] != 0) return;
      Key key{name_of(g.modules[j]), j};
      if (waiting.erase(key)) ready.insert(key);
    };
    for (size_t j : hard_out[i]) {
      --hard_in[j];
      release(j);
    }
    for (size_t j : soft_out[i]) {
      if (soft_in[j] > 0) --soft_in[j];
      release(j);
    }
  }
  return order;
}

// A PEP 440 version for comparing pins: lower case, trailing ".0" of the release dropped
// (2.31 and 2.31.0 are the same version).
std::string pip_version_key(std::string_view v) {
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  size_t release_end = s.find_first_not_of("0123456789.");
  std::string release = s.substr(0, release_end);
  std::string rest = release_end == std::string::npos ? "" : s.substr(release_end);
  while (release.size() > 2 && release.ends_with(".0")) release.resize(release.size() - 2);
  return release + rest;
}

// Two modules pinning one package to different versions. Fills the Resolution's apt pins.
void check_pins(Resolution& r, std::vector<std::string>& problems) {
  struct Pin {
    std::string text;    // as written
    std::string key;     // what is compared
    std::string module;  // label of the module
  };
  std::map<std::string, Pin> apt, pip;
  auto check = [&](std::map<std::string, Pin>& pins, const char* kind, const std::string& name,
                   Pin pin) {
    auto [it, inserted] = pins.emplace(name, pin);
    if (inserted || it->second.key == pin.key) return;
    problems.push_back(std::string(kind) + " package " + name +
                       " is pinned twice: " + it->second.text + " by module " + it->second.module +
                       ", " + pin.text + " by module " + pin.module);
  };
  for (const InstalledModule& m : r.modules) {
    for (const AptRequirement& a : m.manifest.requirements.apt) {
      if (!a.version.empty()) check(apt, "apt", a.package, {a.text(), a.version, label(m)});
    }
    for (const PipRequirement& p : m.manifest.requirements.pip) {
      if (!p.pin.empty()) check(pip, "pip", p.name, {p.text, pip_version_key(p.pin), label(m)});
    }
  }
  for (const auto& [package, pin] : apt) r.apt_pins[package] = pin.key;
}

void render(const Resolution& r, const std::map<std::string, size_t>& by_name, size_t i,
            const std::string& prefix, bool root, bool last, std::set<size_t>& shown,
            std::string& out) {
  const InstalledModule& m = r.modules[i];
  std::string line = m.manifest.name + "@" + m.manifest.version.text();
  if (m.name != m.manifest.name) line += " [Module " + m.name + "]";
  std::string_view rev = m.revision;
  if (rev.starts_with("sha256:")) rev.remove_prefix(7);
  if (!rev.empty()) line += " (" + std::string(rev.substr(0, 12)) + ")";
  bool repeat = !shown.insert(i).second;
  if (repeat) line += " deduped";
  out += prefix + (root ? "" : last ? "└── " : "├── ") + line + "\n";
  if (repeat) return;
  std::vector<std::string> deps;
  for (const ModuleDependency& d : m.manifest.requirements.modules) deps.push_back(d.name);
  std::sort(deps.begin(), deps.end());
  std::string child_prefix = prefix + (root ? "" : last ? "    " : "│   ");
  for (size_t k = 0; k < deps.size(); ++k) {
    auto it = by_name.find(deps[k]);
    if (it == by_name.end()) continue;  // resolve() refuses this; a hand-built Resolution may not
    render(r, by_name, it->second, child_prefix, false, k + 1 == deps.size(), shown, out);
  }
}

}  // namespace

Result<Resolution> resolve(std::vector<InstalledModule> installed) {
  Graph g{installed, {}, {}, {}};
  std::vector<std::string> problems;
  build_graph(g, problems);
  if (!problems.empty()) return Status::Invalid(join_lines(problems));
  if (std::string cycle = find_cycle(g); !cycle.empty()) {
    return Status::Invalid("dependency cycle: " + cycle);
  }
  Resolution r;
  for (size_t i : install_order(g)) r.modules.push_back(std::move(installed[i]));
  check_pins(r, problems);
  if (!problems.empty()) return Status::Invalid(join_lines(problems));
  return r;
}

std::string render_tree(const Resolution& resolution) {
  std::map<std::string, size_t> by_name;
  std::set<std::string> required;
  for (size_t i = 0; i < resolution.modules.size(); ++i) {
    const ModuleManifest& m = resolution.modules[i].manifest;
    by_name.emplace(m.name, i);
    for (const ModuleDependency& d : m.requirements.modules) required.insert(d.name);
  }
  std::string out;
  std::set<size_t> shown;
  for (size_t i = 0; i < resolution.modules.size(); ++i) {
    if (required.contains(resolution.modules[i].manifest.name)) continue;
    render(resolution, by_name, i, "", true, true, shown, out);
  }
  return out;
}

}  // namespace cenv::modules
