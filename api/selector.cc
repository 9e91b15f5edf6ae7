#include "api/selector.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "api/display_text.h"
#include "api/names.h"

namespace cenv {
namespace {

namespace json = boost::json;

// Thrown by SelectorParser only and caught in LabelSelector::parse.
struct SelectorError {
  std::string detail;
};

// Recursive-descent parser for the grammar of k8s.io/apimachinery/pkg/labels:
//   selector    := requirement ("," requirement)*
//   requirement := "!" KEY | KEY [("=" | "==" | "!=") VALUE? | ("in" | "notin") "(" values ")"]
//   values      := VALUE? ("," VALUE?)*
// Whitespace between tokens is ignored; a KEY or VALUE is a run of any other characters than
// whitespace and "!=,()".
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  std::vector<LabelSelector::Requirement> parse() {
    std::vector<LabelSelector::Requirement> reqs;
    if (peek().kind == Kind::kEnd) return reqs;
    while (true) {
      reqs.push_back(requirement());
      Token t = next();
      if (t.kind == Kind::kEnd) break;
      if (t.kind != Kind::kComma) fail("expected ',' or the end", t);
    }
    return reqs;
  }

 private:
  enum class Kind { kWord, kNot, kEquals, kDoubleEquals, kNotEquals, kComma, kOpen, kClose, kEnd };
  struct Token {
    Kind kind;
    std::string_view text;
    size_t pos;
  };

  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool is_special(char c) {
    return c == '!' || c == '=' || c == ',' || c == '(' || c == ')';
  }

  Token peek() {
    size_t saved = pos_;
    Token t = next();
    pos_ = saved;
    return t;
  }

  Token next() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    size_t start = pos_;
    if (pos_ >= text_.size()) return {Kind::kEnd, {}, start};
    auto two = text_.substr(pos_, 2);
    auto token = [&](Kind k, size_t len) {
      pos_ += len;
      return Token{k, text_.substr(start, len), start};
    };
    if (two == "!=") return token(Kind::kNotEquals, 2);
    if (two == "==") return token(Kind::kDoubleEquals, 2);
    switch (text_[pos_]) {
      case '!':
        return token(Kind::kNot, 1);
      case '=':
        return token(Kind::kEquals, 1);
      case ',':
        return token(Kind::kComma, 1);
      case '(':
        return token(Kind::kOpen, 1);
      case ')':
        return token(Kind::kClose, 1);
      default:
        break;
    }
    size_t end = pos_;
    while (end < text_.size() && !is_space(text_[end]) && !is_special(text_[end])) ++end;
    return token(Kind::kWord, end - start);
  }

  [[noreturn]] void fail(const std::string& expected, const Token& at) const {
    std::string detail = expected;
    if (at.kind != Kind::kEnd) detail += " at \"" + escape_for_display(text_.substr(at.pos)) + "\"";
    throw SelectorError{std::move(detail)};
  }

  std::string key() {
    Token t = next();
    if (t.kind != Kind::kWord) fail("expected a label key", t);
    if (std::string why = check_label_key(t.text); !why.empty()) {
      throw SelectorError{"key \"" + std::string(t.text) + "\": " + why};
    }
    return std::string(t.text);
  }

  // A value, or "" when none is written (before ',', ')' or the end).
  std::string value() {
    Token t = peek();
    if (t.kind != Kind::kWord) return {};
    next();
    if (std::string why = check_label_value(t.text); !why.empty()) {
      throw SelectorError{"value \"" + std::string(t.text) + "\": " + why};
    }
    return std::string(t.text);
  }

  LabelSelector::Requirement requirement() {
    using Op = LabelSelector::Op;
    if (peek().kind == Kind::kNot) {
      next();
      return {key(), Op::kDoesNotExist, {}};
    }
    LabelSelector::Requirement r{key(), Op::kExists, {}};
    Token t = peek();
    switch (t.kind) {
      case Kind::kEnd:
      case Kind::kComma:
        return r;
      case Kind::kEquals:
      case Kind::kDoubleEquals:
      case Kind::kNotEquals: {
        next();
        r.op = t.kind == Kind::kNotEquals ? Op::kNotEquals : Op::kEquals;
        Token v = peek();
        if (v.kind != Kind::kWord && v.kind != Kind::kComma && v.kind != Kind::kEnd) {
          fail("expected a value", v);
        }
        r.values.push_back(value());
        return r;
      }
      case Kind::kWord:
        if (t.text == "in" || t.text == "notin") {
          next();
          r.op = t.text == "in" ? Op::kIn : Op::kNotIn;
          r.values = value_set();
          return r;
        }
        break;
      default:
        break;
    }
    fail("expected '=', '==', '!=', 'in', 'notin', ',' or the end", t);
  }

  std::vector<std::string> value_set() {
    Token open = next();
    if (open.kind != Kind::kOpen) fail("expected '('", open);
    std::vector<std::string> values;
    while (true) {
      values.push_back(value());
      Token t = next();
      if (t.kind == Kind::kClose) break;
      if (t.kind == Kind::kEnd) fail("expected ')'", t);
      if (t.kind != Kind::kComma) fail("expected ',' or ')'", t);
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector s;
  try {
    s.reqs_ = SelectorParser(text).parse();
  } catch (const SelectorError& e) {
    return Status::Invalid("invalid label selector \"" + escape_for_display(text) +
                           "\": " + e.detail);
  }
  // Canonical order, as Kubernetes sorts requirements by key.
  std::stable_sort(s.reqs_.begin(), s.reqs_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return s;
}

bool LabelSelector::matches(const boost::json::object* labels) const {
  for (const auto& r : reqs_) {
    const json::value* v = labels == nullptr ? nullptr : labels->if_contains(r.key);
    std::optional<std::string_view> value;
    if (v != nullptr && v->is_string()) value = v->get_string();
    bool ok = true;
    switch (r.op) {
      case Op::kEquals:
        ok = value && *value == r.values.front();
        break;
      case Op::kNotEquals:
        ok = !value || *value != r.values.front();
        break;
      case Op::kIn:
        ok = value && contains(r.values, *value);
        break;
      case Op::kNotIn:
        ok = !value || !contains(r.values, *value);
        break;
      case Op::kExists:
        ok = v != nullptr;
        break;
      case Op::kDoesNotExist:
        ok = v == nullptr;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelSelector::to_string() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ',';
    switch (r.op) {
      case Op::kEquals:
        out += r.key + "=" + r.values.front();
        break;
      case Op::kNotEquals:
        out += r.key + "!=" + r.values.front();
        break;
      case Op::kIn:
      case Op::kNotIn: {
        out += r.key + (r.op == Op::kIn ? " in (" : " notin (");
        for (size_t i = 0; i < r.values.size(); ++i) {
          if (i > 0) out += ',';
          out += r.values[i];
        }
        out += ')';
        break;
      }
      case Op::kExists:
        out += r.key;
        break;
      case Op::kDoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

}  // namespace cenv
