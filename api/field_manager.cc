#include "api/field_manager.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/display_text.h"
#include "api/json_fields.h"

namespace cenv {

namespace json = boost::json;

namespace {

using PathSet = std::set<FieldPath>;

// metadata is not in the CRD schemas; these are the parts of it that managers own.
const json::object& metadata_schema() {
  static const json::object schema = json::parse(R"({
    "type": "object",
    "properties": {
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
      "finalizers": {"type": "array", "items": {"type": "string"},
                     "x-kubernetes-list-type": "set"},
      "ownerReferences": {"type": "array", "items": {"type": "object"},
                          "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["uid"]}
    }
  })")
                                         .as_object();
  return schema;
}

const json::object* member_schema(const json::object* schema, std::string_view key) {
  if (!schema) return nullptr;
  if (const json::object* s = object_field(object_field(*schema, "properties"), key)) return s;
  return object_field(*schema, "additionalProperties");
}

const json::object* items_schema(const json::object* schema) {
  return object_field(schema, "items");
}

std::string_view list_type(const json::object* schema) {
  if (!schema) return "atomic";
  std::string_view t = string_field(*schema, "x-kubernetes-list-type");
  return t.empty() ? "atomic" : t;
}

std::vector<std::string> list_keys(const json::object* schema) {
  std::vector<std::string> keys;
  const json::array* names = schema ? array_field(*schema, "x-kubernetes-list-map-keys") : nullptr;
  if (!names) return keys;
  for (const auto& k : *names) {
    if (k.is_string()) keys.emplace_back(k.get_string());
  }
  return keys;
}

// "k:{...}" for a list-map item: its key fields, in key order.
std::string item_key(const json::object& item, const std::vector<std::string>& keys) {
  json::object k;
  for (const auto& name : keys) {
    if (auto it = item.find(name); it != item.end()) k[name] = it->value();
  }
  return "k:" + json::serialize(k);
}

// Member paths of `v` under `prefix` (leaves, and list-map items as wholes).
void collect(const json::value& v, const json::object* schema, FieldPath& prefix, PathSet& out) {
  if (v.is_object() && !v.get_object().empty()) {
    for (const auto& kv : v.get_object()) {
      prefix.push_back("f:" + std::string(kv.key()));
      collect(kv.value(), member_schema(schema, kv.key()), prefix, out);
      prefix.pop_back();
    }
    return;
  }
  if (v.is_array()) {
    std::string_view type = list_type(schema);
    if (type == "map") {
      auto keys = list_keys(schema);
      const json::object* item_schema = items_schema(schema);
      for (const auto& item : v.get_array()) {
        if (!item.is_object()) continue;
        prefix.push_back(item_key(item.get_object(), keys));
        out.insert(prefix);  // the item itself
        for (const auto& kv : item.get_object()) {
          prefix.push_back("f:" + std::string(kv.key()));
          collect(kv.value(), member_schema(item_schema, kv.key()), prefix, out);
          prefix.pop_back();
        }
        prefix.pop_back();
      }
      return;
    }
    if (type == "set") {
      for (const auto& item : v.get_array()) {
        prefix.push_back("v:" + json::serialize(item));
        out.insert(prefix);
        prefix.pop_back();
      }
      return;
    }
  }
  // A scalar or an atomic list. An empty object is not a member: `spec: {}` claims nothing.
  if (!(v.is_object() && v.get_object().empty())) out.insert(prefix);
}

class Shape {
 public:
  explicit Shape(const KindInfo& kind) {
    root_["type"] = "object";
    json::object props;
    props["metadata"] = metadata_schema();
    // Every top-level member but the object's identity, metadata and status, as Kubernetes
    // tracks every field but status: spec for most kinds; an Event's involvedObject, reason,
    // message and the rest. spec always, for a kind whose schema does not list it.
    members_.push_back("spec");
    if (const json::object* p = object_field(kind.schema, "properties")) {
      for (const auto& kv : *p) {
        std::string_view key = kv.key();
        if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "status" ||
            key == "spec") {
          continue;
        }
        members_.emplace_back(key);
      }
    }
    for (const std::string& m : members_) {
      if (const json::object* schema = member_schema(&kind.schema, m)) props[m] = *schema;
    }
    root_["properties"] = std::move(props);
  }
  const json::object* root() const { return &root_; }
  // The top-level members managers own, besides metadata's.
  const std::vector<std::string>& members() const { return members_; }

  // The parts of an object that managers own.
  json::value tracked(const json::object& o) const {
    json::object out;
    for (const std::string& m : members_) {
      if (auto it = o.find(m); it != o.end()) out[m] = it->value();
    }
    if (const json::object* m = object_field(o, "metadata")) {
      json::object meta;
      for (std::string_view k : {"labels", "annotations", "finalizers", "ownerReferences"}) {
        if (const json::value* v = m->if_contains(k)) meta[k] = *v;
      }
      if (!meta.empty()) out["metadata"] = std::move(meta);
    }
    return out;
  }

  PathSet paths(const json::object& o) const {
    PathSet out;
    FieldPath prefix;
    json::value t = tracked(o);
    if (!t.get_object().empty()) collect(t, &root_, prefix, out);
    return out;
  }

 private:
  json::object root_;
  std::vector<std::string> members_;
};

// Finds the value at `path` (nullptr when absent). For "k:" and "v:" elements the containing
// array and index are reported through `array`/`index` when asked.
const json::value* find(const json::value& root, const FieldPath& path) {
  const json::value* cur = &root;
  for (const std::string& el : path) {
    if (el.starts_with("f:")) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->get_object().find(std::string_view(el).substr(2));
      if (it == cur->get_object().end()) return nullptr;
      cur = &it->value();
    } else if (el.starts_with("k:")) {
      if (!cur->is_array()) return nullptr;
      json::value key = json::parse(std::string_view(el).substr(2));
      const json::value* found = nullptr;
      for (const auto& item : cur->get_array()) {
        if (!item.is_object()) continue;
        bool match = true;
        for (const auto& kv : key.get_object()) {
          auto f = item.get_object().find(kv.key());
          if (f == item.get_object().end() || f->value() != kv.value()) match = false;
        }
        if (match) {
          found = &item;
          break;
        }
      }
      if (!found) return nullptr;
      cur = found;
    } else if (el.starts_with("v:")) {
      if (!cur->is_array()) return nullptr;
      json::value want = json::parse(std::string_view(el).substr(2));
      auto it = std::find(cur->get_array().begin(), cur->get_array().end(), want);
      if (it == cur->get_array().end()) return nullptr;
      cur = &*it;
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Removes the value at `path`, then every object left empty on the way up (below the root's
// own members such as spec).
void remove(json::value& root, const FieldPath& path) {
  if (path.empty()) return;
  std::vector<json::value*> chain{&root};
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    FieldPath prefix(path.begin(), path.begin() + static_cast<long>(i) + 1);
    const json::value* v = find(root, prefix);
    if (!v) return;
    chain.push_back(const_cast<json::value*>(v));
  }
  json::value* parent = chain.back();
  const std::string& last = path.back();
  if (last.starts_with("f:")) {
    if (parent->is_object()) parent->get_object().erase(std::string_view(last).substr(2));
  } else if (parent->is_array()) {
    const json::value* target = find(root, path);
    auto& arr = parent->get_array();
    for (auto it = arr.begin(); it != arr.end(); ++it) {
      if (&*it == target) {
        arr.erase(it);
        break;
      }
    }
  }
  // Prune containers emptied by the removal, but keep top-level members (spec, metadata).
  for (size_t i = chain.size() - 1; i >= 2; --i) {  // chain[i] is reached by path[i - 1]
    json::value* v = chain[i];
    bool empty =
        (v->is_object() && v->get_object().empty()) || (v->is_array() && v->get_array().empty());
    if (!empty) break;
    json::value* up = chain[i - 1];
    const std::string& el = path[i - 1];
    if (el.starts_with("f:") && up->is_object()) {
      up->get_object().erase(std::string_view(el).substr(2));
    } else {
      break;
    }
  }
}

// Sets every value of `config` into `live`, merging objects and list-map items.
void merge(json::value& live, const json::value& config, const json::object* schema) {
  if (config.is_object() && live.is_object()) {
    for (const auto& kv : config.get_object()) {
      const json::object* sub = member_schema(schema, kv.key());
      json::object& lo = live.get_object();
      auto it = lo.find(kv.key());
      if (it == lo.end()) {
        lo[kv.key()] = kv.value();
      } else {
        merge(it->value(), kv.value(), sub);
      }
    }
    return;
  }
  if (config.is_array() && live.is_array()) {
    std::string_view type = list_type(schema);
    if (type == "map") {
      auto keys = list_keys(schema);
      const json::object* item_schema = items_schema(schema);
      json::array& la = live.get_array();
      for (const auto& item : config.get_array()) {
        if (!item.is_object()) continue;
        std::string k = item_key(item.get_object(), keys);
        auto match = std::find_if(la.begin(), la.end(), [&](const json::value& l) {
          return l.is_object() && item_key(l.get_object(), keys) == k;
        });
        if (match == la.end()) {
          la.push_back(item);
        } else {
          merge(*match, item, item_schema);
        }
      }
      return;
    }
    if (type == "set") {
      json::array& la = live.get_array();
      for (const auto& item : config.get_array()) {
        if (std::find(la.begin(), la.end(), item) == la.end()) la.push_back(item);
      }
      return;
    }
  }
  live = config;
}

// managedFields <-> (manager, operation) -> paths.
struct Entry {
  std::string manager;
  std::string operation;  // "Apply" or "Update"
  std::string time;
  PathSet paths;
  std::string user;  // who last changed the manager's fields; "" when not recorded
};

void to_trie(const PathSet& paths, json::object& trie) {
  for (const FieldPath& p : paths) {
    json::object* node = &trie;
    for (size_t i = 0; i < p.size(); ++i) {
      json::value& child = (*node)[p[i]];
      if (!child.is_object()) child = json::object();
      node = &child.get_object();
      if (i + 1 == p.size() && (p[i].starts_with("k:") || p[i].starts_with("v:"))) {
        if (!node->empty() || p[i].starts_with("k:")) (*node)["."] = json::object();
      }
    }
  }
}

void from_trie(const json::object& trie, FieldPath& prefix, PathSet& out) {
  for (const auto& kv : trie) {
    if (kv.key() == ".") {
      out.insert(prefix);
      continue;
    }
    prefix.push_back(std::string(kv.key()));
    if (!kv.value().is_object() || kv.value().get_object().empty()) {
      out.insert(prefix);
    } else {
      from_trie(kv.value().get_object(), prefix, out);
    }
    prefix.pop_back();
  }
}

std::vector<Entry> read_entries(const json::object& o) {
  std::vector<Entry> out;
  const json::object* meta = object_field(o, "metadata");
  const json::array* managed = meta ? array_field(*meta, "managedFields") : nullptr;
  if (!managed) return out;
  for (const auto& e : *managed) {
    if (!e.is_object()) continue;
    const json::object& eo = e.get_object();
    Entry entry{std::string(string_field(eo, "manager")),
                std::string(string_field(eo, "operation")),
                std::string(string_field(eo, "time")),
                {},
                std::string(string_field(eo, "user"))};
    if (const json::object* fields = object_field(eo, "fieldsV1")) {
      FieldPath prefix;
      from_trie(*fields, prefix, entry.paths);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void write_entries(Object& o, const std::vector<Entry>& entries) {
  json::array arr;
  for (const Entry& e : entries) {
    if (e.paths.empty()) continue;
    json::object trie;
    to_trie(e.paths, trie);
    json::object entry{{"manager", e.manager}, {"operation", e.operation}};
    if (!e.user.empty()) entry["user"] = e.user;
    entry["apiVersion"] = kApiVersion;
    entry["time"] = e.time;
    entry["fieldsType"] = "FieldsV1";
    entry["fieldsV1"] = std::move(trie);
    arr.push_back(std::move(entry));
  }
  if (arr.empty()) {
    o.metadata().erase("managedFields");
  } else {
    o.metadata()["managedFields"] = std::move(arr);
  }
}

// --- The no-op test of a re-apply (FieldManager::unchanged_by) -------------------------------
// Each mirrors, without allocating a path, what collect() and merge() do.

// True when collect() finds a path in `v` (an empty object, set or map list claims nothing).
bool has_paths(const json::value& v, const json::object* schema) {
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (has_paths(kv.value(), member_schema(schema, kv.key()))) return true;
    }
    return false;
  }
  if (v.is_array()) {
    std::string_view type = list_type(schema);
    if (type == "map") {
      const json::array& a = v.get_array();
      return std::any_of(a.begin(), a.end(), [](const json::value& i) { return i.is_object(); });
    }
    if (type == "set") return !v.get_array().empty();
  }
  return true;
}

bool same_paths(const json::value& v, const json::object* schema, const json::value* node);

// The members of object `o` claim exactly the children of trie `node` (with "." when `dot`).
bool same_member_paths(const json::object& o, const json::object* schema, const json::object& node,
                       bool dot) {
  size_t claimed = 0;
  std::string key;
  for (const auto& kv : o) {
    const json::object* sub = member_schema(schema, kv.key());
    if (!has_paths(kv.value(), sub)) continue;
    ++claimed;
    key.assign("f:").append(kv.key().data(), kv.key().size());
    const json::value* child = node.if_contains(key);
    if (!child || !same_paths(kv.value(), sub, child)) return false;
  }
  bool has_dot = node.contains(".");
  return has_dot == dot && node.size() == claimed + (dot ? 1 : 0);
}

// The paths collect() finds in `v` below a prefix are the ones from_trie() reads from `node`,
// the trie at that prefix (nullptr: none).
bool same_paths(const json::value& v, const json::object* schema, const json::value* node) {
  if (!has_paths(v, schema)) return node == nullptr;
  if (!node || !node->is_object()) return false;
  const json::object& n = node->get_object();
  if (v.is_object()) return !n.empty() && same_member_paths(v.get_object(), schema, n, false);
  if (v.is_array()) {
    std::string_view type = list_type(schema);
    if (type == "map") {
      auto keys = list_keys(schema);
      const json::object* item_schema = items_schema(schema);
      size_t items = 0;
      for (const auto& item : v.get_array()) {
        if (!item.is_object()) continue;
        ++items;
        const json::value* child = n.if_contains(item_key(item.get_object(), keys));
        if (!child || !child->is_object() ||
            !same_member_paths(item.get_object(), item_schema, child->get_object(), true)) {
          return false;
        }
      }
      return n.size() == items && !n.contains(".");
    }
    if (type == "set") {
      for (const auto& item : v.get_array()) {
        const json::value* child = n.if_contains("v:" + json::serialize(item));
        if (!child || !child->is_object() || !child->get_object().empty()) return false;
      }
      return n.size() == v.get_array().size();
    }
  }
  return n.empty();  // a leaf
}

// True when merge(live, config) would leave `live` as it is.
bool contains_values(const json::value& live, const json::value& config,
                     const json::object* schema) {
  if (config.is_object() && live.is_object()) {
    const json::object& lo = live.get_object();
    for (const auto& kv : config.get_object()) {
      const json::value* l = lo.if_contains(kv.key());
      if (!l || !contains_values(*l, kv.value(), member_schema(schema, kv.key()))) return false;
    }
    return true;
  }
  if (config.is_array() && live.is_array()) {
    std::string_view type = list_type(schema);
    const json::array& la = live.get_array();
    if (type == "map") {
      auto keys = list_keys(schema);
      const json::object* item_schema = items_schema(schema);
      for (const auto& item : config.get_array()) {
        if (!item.is_object()) continue;
        std::string k = item_key(item.get_object(), keys);
        auto match = std::find_if(la.begin(), la.end(), [&](const json::value& l) {
          return l.is_object() && item_key(l.get_object(), keys) == k;
        });
        if (match == la.end() || !contains_values(*match, item, item_schema)) return false;
      }
      return true;
    }
    if (type == "set") {
      for (const auto& item : config.get_array()) {
        if (std::find(la.begin(), la.end(), item) == la.end()) return false;
      }
      return true;
    }
  }
  return live == config;
}

// True when `q` is `p` or lies inside it (p is a prefix of q).
bool within(const FieldPath& p, const FieldPath& q) {
  return q.size() >= p.size() && std::equal(p.begin(), p.end(), q.begin());
}

}  // namespace

std::string FieldManager::path_text(const FieldPath& path) {
  std::string out;
  for (const std::string& el : path) {
    if (el.starts_with("f:")) {
      out += "." + escape_for_display(std::string_view(el).substr(2));
    } else if (el.starts_with("k:")) {
      json::value key = json::parse(std::string_view(el).substr(2));
      std::string inner;
      for (const auto& kv : key.get_object()) {
        if (!inner.empty()) inner += ",";
        inner += escape_for_display(kv.key()) + "=" + json::serialize(kv.value());
      }
      out += "[" + inner + "]";
    } else if (el.starts_with("v:")) {
      out += "[" + escape_for_display(std::string_view(el).substr(2)) + "]";
    }
  }
  return out;
}

struct FieldManagerShape {
  explicit FieldManagerShape(const KindInfo& kind) : shape(kind) {}
  Shape shape;
};

json::value FieldManager::owned_view(const json::object& object) const {
  return shape_->shape.tracked(object);
}

FieldManager::FieldManager(const KindInfo& kind)
    : shape_(std::make_shared<const FieldManagerShape>(kind)) {}

Result<Object> FieldManager::apply(const Object* live, const Object& config,
                                   const ApplyOptionsSsa& options) const {
  const Shape& shape = shape_->shape;
  PathSet applied = shape.paths(config.json());
  if (!live) {
    Object out = config;
    write_entries(out, {Entry{options.manager, "Apply", options.now, applied, options.user}});
    return out;
  }
  std::vector<Entry> entries = read_entries(live->json());
  json::value live_tracked = shape.tracked(live->json());
  json::value config_tracked = shape.tracked(config.json());

  // Conflicts: a field this apply sets to a new value while another manager owns it.
  std::vector<std::pair<std::string, FieldPath>> conflicts;
  std::set<FieldPath> taken;
  for (Entry& e : entries) {
    if (e.manager == options.manager && e.operation == "Apply") continue;
    for (const FieldPath& p : e.paths) {
      if (!applied.count(p)) continue;
      const json::value* had = find(live_tracked, p);
      const json::value* want = find(config_tracked, p);
      bool same = had && want &&
                  (p.back().starts_with("k:") || p.back().starts_with("v:") || *had == *want);
      if (!same) {
        conflicts.push_back({e.manager, p});
        taken.insert(p);
      }
    }
  }
  if (!conflicts.empty() && !options.force) {
    std::string msg = "Apply failed with " + std::to_string(conflicts.size()) + " conflict" +
                      (conflicts.size() > 1 ? "s" : "") + ":";
    for (const auto& [manager, path] : conflicts) {
      msg += " conflict with \"" + escape_for_display(manager) + "\" using " +
             std::string(kApiVersion) + ": " + path_text(path) + ";";
    }
    msg.pop_back();
    msg +=
        ". Re-run with --force-conflicts to take these fields over, or drop them from the "
        "manifest to leave them to their manager";
    return Status::Conflict(msg);
  }
  // Forced: the other managers lose the fields taken from them.
  for (Entry& e : entries) {
    if (e.manager == options.manager && e.operation == "Apply") continue;
    for (const FieldPath& p : taken) e.paths.erase(p);
  }

  // Fields this manager applied before and dropped now go, unless someone else owns them.
  PathSet previous;
  auto mine = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
    return e.manager == options.manager && e.operation == "Apply";
  });
  if (mine != entries.end()) previous = mine->paths;
  PathSet others;
  for (const Entry& e : entries) {
    if (e.manager == options.manager && e.operation == "Apply") continue;
    others.insert(e.paths.begin(), e.paths.end());
  }
  Object out = *live;
  json::value merged = live_tracked;
  for (const FieldPath& p : previous) {
    if (applied.count(p)) continue;
    // Kept when another manager owns it or something inside it, or this apply still sets
    // something inside it (a list item whose key fields alone remain, say).
    bool owned =
        std::any_of(others.begin(), others.end(), [&](const FieldPath& q) { return within(p, q); });
    bool reapplied = std::any_of(applied.begin(), applied.end(),
                                 [&](const FieldPath& q) { return within(p, q); });
    if (!owned && !reapplied) remove(merged, p);
  }
  merge(merged, config_tracked, shape.root());

  // Write the tracked parts back: a member the merge dropped (a field this manager no longer
  // applies) goes; spec stays, emptied at most.
  json::object& mo = merged.get_object();
  for (const std::string& m : shape.members()) {
    if (auto it = mo.find(m); it != mo.end()) {
      out.json()[m] = it->value();
    } else if (m != "spec") {
      out.json().erase(m);
    }
  }
  json::object& meta = out.metadata();
  const json::object* merged_meta = object_field(mo, "metadata");
  for (std::string_view k : {"labels", "annotations", "finalizers", "ownerReferences"}) {
    const json::value* v = nullptr;
    if (merged_meta) {
      if (auto it = merged_meta->find(k); it != merged_meta->end()) v = &it->value();
    }
    bool empty = !v || (v->is_object() && v->get_object().empty()) ||
                 (v->is_array() && v->get_array().empty());
    if (empty) {
      meta.erase(k);
    } else {
      meta[k] = *v;
    }
  }

  bool object_changed = shape.tracked(out.json()) != shape.tracked(live->json());
  if (mine == entries.end()) {
    entries.push_back(Entry{options.manager, "Apply", options.now, applied, options.user});
  } else if (mine->paths != applied || object_changed) {
    mine->paths = applied;
    mine->time = options.now;
    mine->user = options.user;
  }
  write_entries(out, entries);
  return out;
}

bool FieldManager::unchanged_by(const Object& live, const Object& config,
                                const ApplyOptionsSsa& options) const {
  const Shape& shape = shape_->shape;
  // The manager's own Apply entry (the first, as apply() reads them).
  const json::object* meta = live.metadata_or_null();
  const json::array* managed = meta ? array_field(*meta, "managedFields") : nullptr;
  if (!managed) return false;
  const json::object* mine = nullptr;
  for (const auto& e : *managed) {
    if (!e.is_object()) continue;
    const json::object& eo = e.get_object();
    if (string_field(eo, "manager") == options.manager &&
        string_field(eo, "operation") == "Apply") {
      mine = object_field(eo, "fieldsV1");
      if (!mine) return false;
      break;
    }
  }
  if (!mine) return false;
  // apply() drops an emptied labels map and the like: such an object would change.
  for (std::string_view k : {"labels", "annotations", "finalizers", "ownerReferences"}) {
    const json::value* v = meta->if_contains(k);
    if (v && ((v->is_object() && v->get_object().empty()) ||
              (v->is_array() && v->get_array().empty()))) {
      return false;
    }
  }
  json::value config_tracked = shape.tracked(config.json());
  const json::object& ct = config_tracked.get_object();
  bool claims = has_paths(config_tracked, shape.root());
  if (!claims || !same_member_paths(ct, shape.root(), *mine, false)) return false;
  // Every value of config already in live: no conflict, nothing merged in.
  const json::object& lo = live.json();
  for (const auto& kv : ct) {
    const json::object* sub = member_schema(shape.root(), kv.key());
    if (kv.key() == "metadata") {  // labels, annotations, finalizers, ownerReferences
      for (const auto& m : kv.value().get_object()) {
        const json::value* l = meta->if_contains(m.key());
        if (!l || !contains_values(*l, m.value(), member_schema(sub, m.key()))) return false;
      }
      continue;
    }
    const json::value* l = lo.if_contains(kv.key());
    if (!l || !contains_values(*l, kv.value(), sub)) return false;
  }
  return true;
}

Object FieldManager::update(const Object& live, const Object& updated, const std::string& manager,
                            const std::string& now, const std::string& user) const {
  const Shape& shape = shape_->shape;
  PathSet before = shape.paths(live.json());
  PathSet after = shape.paths(updated.json());
  json::value lt = shape.tracked(live.json());
  json::value ut = shape.tracked(updated.json());
  PathSet changed;
  for (const FieldPath& p : after) {
    const json::value* a = find(lt, p);
    const json::value* b = find(ut, p);
    if (!a || !b || *a != *b) changed.insert(p);
  }
  PathSet removed;
  for (const FieldPath& p : before) {
    if (!after.count(p)) removed.insert(p);
  }
  std::vector<Entry> entries = read_entries(live.json());
  Entry* mine = nullptr;
  for (Entry& e : entries) {
    if (e.manager == manager && e.operation == "Update") {
      mine = &e;
      continue;
    }
    for (const FieldPath& p : changed) e.paths.erase(p);
    for (const FieldPath& p : removed) e.paths.erase(p);
  }
  Object out = updated;
  if (!changed.empty() || !removed.empty()) {
    if (!mine) {
      entries.push_back(Entry{manager, "Update", now, {}, user});
      mine = &entries.back();
    }
    for (const FieldPath& p : removed) mine->paths.erase(p);
    mine->paths.insert(changed.begin(), changed.end());
    mine->time = now;
    mine->user = user;
  }
  write_entries(out, entries);
  return out;
}

}  // namespace cenv
