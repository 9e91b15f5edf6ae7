#include "api/json_patch.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/limits.h"

namespace cenv {

namespace json = boost::json;

void apply_merge_patch(json::value& target, const json::value& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  json::object& t = target.get_object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      t.erase(kv.key());
    } else {
      apply_merge_patch(t[kv.key()], kv.value());
    }
  }
}

namespace {

// Splits an RFC 6901 pointer into unescaped tokens; false when malformed.
bool tokens_of(std::string_view pointer, std::vector<std::string>* out) {
  out->clear();
  if (pointer.empty()) return true;
  if (pointer[0] != '/') return false;
  std::string cur;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      out->push_back(cur);
      cur.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return false;
      cur += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += pointer[i];
    }
  }
  return true;
}

bool index_of(const std::string& token, size_t size, bool allow_end, size_t* out) {
  if (allow_end && token == "-") {
    *out = size;
    return true;
  }
  size_t v = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || p != token.data() + token.size() || token.empty() ||
      (token.size() > 1 && token[0] == '0')) {
    return false;
  }
  if (v > size || (!allow_end && v == size)) return false;
  *out = v;
  return true;
}

json::value* resolve(json::value& root, const std::vector<std::string>& tokens, size_t count) {
  json::value* cur = &root;
  for (size_t i = 0; i < count; ++i) {
    if (cur->is_object()) {
      auto it = cur->get_object().find(tokens[i]);
      if (it == cur->get_object().end()) return nullptr;
      cur = &it->value();
    } else if (cur->is_array()) {
      size_t idx;
      if (!index_of(tokens[i], cur->get_array().size(), false, &idx)) return nullptr;
      cur = &cur->get_array()[idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

Status add_at(json::value& root, const std::vector<std::string>& t, json::value v) {
  if (t.empty()) {
    root = std::move(v);
    return Status::Ok();
  }
  json::value* parent = resolve(root, t, t.size() - 1);
  if (!parent) return Status::Invalid("the parent of the path does not exist");
  if (parent->is_object()) {
    parent->get_object()[t.back()] = std::move(v);
    return Status::Ok();
  }
  if (parent->is_array()) {
    size_t idx;
    if (!index_of(t.back(), parent->get_array().size(), true, &idx)) {
      return Status::Invalid("array index out of range");
    }
    parent->get_array().insert(parent->get_array().begin() + static_cast<long>(idx), std::move(v));
    return Status::Ok();
  }
  return Status::Invalid("the parent of the path is not an object or array");
}

Result<json::value> remove_at(json::value& root, const std::vector<std::string>& t) {
  if (t.empty()) return Status::Invalid("cannot remove the whole document");
  json::value* parent = resolve(root, t, t.size() - 1);
  if (!parent) return Status::Invalid("the path does not exist");
  if (parent->is_object()) {
    auto it = parent->get_object().find(t.back());
    if (it == parent->get_object().end()) return Status::Invalid("the path does not exist");
    json::value out = it->value();
    parent->get_object().erase(it);
    return out;
  }
  if (parent->is_array()) {
    size_t idx;
    if (!index_of(t.back(), parent->get_array().size(), false, &idx)) {
      return Status::Invalid("array index out of range");
    }
    json::value out = parent->get_array()[idx];
    parent->get_array().erase(parent->get_array().begin() + static_cast<long>(idx));
    return out;
  }
  return Status::Invalid("the path does not exist");
}

// Nodes in `v` and how deeply it nests (a scalar: 1 node, depth 0).
struct ValueSize {
  size_t nodes = 0;
  size_t depth = 0;
};

ValueSize size_of(const json::value& v) {
  ValueSize out{1, 0};
  auto add_child = [&out](const json::value& child) {
    ValueSize c = size_of(child);
    out.nodes += c.nodes;
    out.depth = std::max(out.depth, c.depth + 1);
  };
  if (v.is_object()) {
    out.depth = 1;
    for (const auto& kv : v.get_object()) add_child(kv.value());
  } else if (v.is_array()) {
    out.depth = 1;
    for (const auto& e : v.get_array()) add_child(e);
  }
  return out;
}

// What a patch may still add: every value an operation puts into the document counts against
// kMaxNodesPerDocument (so that "copy" cannot double the document again and again), and no
// value may end up nested deeper than kMaxNestingDepth.
class AddBudget {
 public:
  // `v` is about to be put at `path`; `grows`: it is new to the document (not moved in it).
  Status take(const std::vector<std::string>& path, const json::value& v, bool grows = true) {
    ValueSize size = size_of(v);
    if (path.size() + size.depth > kMaxNestingDepth) {
      return Status::Invalid("the result would nest deeper than the limit of " +
                             std::to_string(kMaxNestingDepth) + " levels");
    }
    if (grows) added_ += size.nodes;
    if (added_ > kMaxNodesPerDocument) {
      return Status::Invalid("the patch adds more than the limit of " +
                             std::to_string(kMaxNodesPerDocument) + " nodes to the document");
    }
    return Status::Ok();
  }

 private:
  size_t added_ = 0;
};

// Applies one operation to `work`; Invalid saying why (without naming the operation).
Status apply_op(json::value& work, const json::object& op, AddBudget& budget) {
  std::string name(string_field(op, "op"));
  std::vector<std::string> t;
  if (!op.contains("path") || !tokens_of(string_field(op, "path"), &t)) {
    return Status::Invalid("path must be a JSON pointer such as /spec/image");
  }
  auto value = op.find("value");
  if ((name == "add" || name == "replace" || name == "test") && value == op.end()) {
    return Status::Invalid("value is required");
  }
  if (name == "add" || name == "replace") {
    if (name == "replace") {
      if (!resolve(work, t, t.size())) return Status::Invalid("the path does not exist");
      auto removed = remove_at(work, t);
      if (!removed.ok() && !t.empty()) return removed.status();
    }
    CENV_RETURN_IF_ERROR(budget.take(t, value->value()));
    return add_at(work, t, value->value());
  }
  if (name == "remove") return remove_at(work, t).status();
  if (name == "move" || name == "copy") {
    std::vector<std::string> from;
    if (!tokens_of(string_field(op, "from"), &from)) {
      return Status::Invalid("from must be a pointer");
    }
    json::value* src = resolve(work, from, from.size());
    if (!src) return Status::Invalid("from does not exist");
    json::value moved;
    if (name == "move") {
      auto removed = remove_at(work, from);
      if (!removed.ok()) return removed.status();
      moved = std::move(removed).value();
    } else {
      moved = *src;
    }
    CENV_RETURN_IF_ERROR(budget.take(t, moved, name == "copy"));
    return add_at(work, t, std::move(moved));
  }
  if (name == "test") {
    json::value* at = resolve(work, t, t.size());
    if (!at || *at != value->value()) return Status::Invalid("test failed: the value differs");
    return Status::Ok();
  }
  return Status::Invalid("unknown op \"" + escape_for_display(name) +
                         "\" (add, remove, replace, move, copy, test)");
}

}  // namespace

Status apply_json_patch(json::value& target, const json::value& patch) {
  if (!patch.is_array()) return Status::Invalid("a JSON patch must be an array of operations");
  if (patch.get_array().size() > kMaxJsonPatchOperations) {
    return Status::Invalid("a JSON patch of " + std::to_string(patch.get_array().size()) +
                           " operations is longer than the limit of " +
                           std::to_string(kMaxJsonPatchOperations));
  }
  json::value work = target;
  AddBudget budget;
  size_t n = 0;
  for (const json::value& op_value : patch.get_array()) {
    std::string where = "operation " + std::to_string(n++);
    if (!op_value.is_object()) return Status::Invalid(where + ": must be an object");
    const json::object& op = op_value.get_object();
    where += " (" + escape_for_display(string_field(op, "op")) + " " +
             escape_for_display(string_field(op, "path")) + ")";
    Status s = apply_op(work, op, budget);
    if (!s.ok()) return Status::Invalid(where + ": " + s.message());
  }
  target = std::move(work);
  return Status::Ok();
}

}  // namespace cenv
