#include "api/jsonpath.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>

#include "api/display_text.h"

namespace cenv {

namespace json = boost::json;

// A filter [?(@.path op literal)] or [?(@.path)] (op kExists).
struct Filter {
  enum class Op { kExists, kEq, kNe, kLt, kLe, kGt, kGe };
  std::shared_ptr<const std::vector<JsonPath::Step>> path;  // relative to the element
  Op op = Op::kExists;
  json::value literal;
};

struct JsonPath::Step {
  enum class Kind { kField, kWildcard, kIndex, kSlice, kFilter };
  Kind kind = Kind::kField;
  bool recursive = false;                // `..`: apply to the node and every descendant
  std::string name;                      // kField
  int64_t index = 0;                     // kIndex
  std::optional<int64_t> start, end;     // kSlice
  std::shared_ptr<const Filter> filter;  // kFilter
};

namespace {

using Step = JsonPath::Step;

// Recursive-descent parser over the expression; positions are offsets into the original text.
class Parser {
 public:
  Parser(std::string_view text, size_t begin, size_t end) : s_(text), pos_(begin), end_(end) {}

  // Parses steps until the end (top level) or, for a filter's relative path, until a character
  // that cannot continue a path.
  Status parse_steps(std::vector<Step>& out, bool in_filter) {
    while (pos_ < end_) {
      char c = s_[pos_];
      if (in_filter && (c == ' ' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>')) {
        return Status::Ok();
      }
      Step step;
      if (c == '.') {
        ++pos_;
        if (pos_ < end_ && s_[pos_] == '.') {
          step.recursive = true;
          ++pos_;
        }
        if (pos_ >= end_) {
          if (step.recursive) return error("expected a field name after '..'");
          // A trailing '.' ("." alone means the root) selects nothing more.
          return Status::Ok();
        }
        if (s_[pos_] == '*') {
          ++pos_;
          step.kind = Step::Kind::kWildcard;
        } else if (s_[pos_] == '[') {
          if (!step.recursive) return error("unexpected '[' after '.'");
          CENV_RETURN_IF_ERROR(parse_bracket(step));
        } else {
          CENV_RETURN_IF_ERROR(parse_name(step.name, in_filter));
          step.kind = Step::Kind::kField;
        }
      } else if (c == '[') {
        CENV_RETURN_IF_ERROR(parse_bracket(step));
      } else {
        return error("unexpected '" + escape_for_display({&c, 1}) + "', expected '.' or '['");
      }
      out.push_back(std::move(step));
    }
    return Status::Ok();
  }

  size_t pos() const { return pos_; }

  Status error(const std::string& what) const { return error_at(what, pos_); }
  Status error_at(const std::string& what, size_t at) const {
    return Status::Invalid("invalid JSONPath \"" + escape_for_display(s_) + "\": " + what +
                           " at position " + std::to_string(at));
  }

 private:
  Status parse_name(std::string& name, bool in_filter) {
    size_t start = pos_;
    while (pos_ < end_) {
      char c = s_[pos_];
      if (c == '.' || c == '[') break;
      if (in_filter && (c == ' ' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>')) {
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 >= end_) return error("dangling '\\'");
        name.push_back(s_[pos_ + 1]);
        pos_ += 2;
        continue;
      }
      name.push_back(c);
      ++pos_;
    }
    if (pos_ == start) return error("expected a field name");
    return Status::Ok();
  }

  void skip_spaces() {
    while (pos_ < end_ && s_[pos_] == ' ') ++pos_;
  }

  bool consume(char c) {
    if (pos_ < end_ && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Status expect(char c) {
    if (consume(c)) return Status::Ok();
    if (pos_ >= end_) return error(std::string("expected '") + c + "', found the end");
    return error(std::string("expected '") + c + "', found '" + escape_for_display({&s_[pos_], 1}) +
                 "'");
  }

  // After '[': `*]`, `N]`, `A:B]`, `'name']`, `?(...)]`.
  Status parse_bracket(Step& step) {
    size_t open = pos_;
    CENV_RETURN_IF_ERROR(expect('['));
    skip_spaces();
    if (pos_ >= end_) return error_at("unterminated '['", open);
    char c = s_[pos_];
    if (c == '*') {
      ++pos_;
      step.kind = Step::Kind::kWildcard;
    } else if (c == '\'' || c == '"') {
      step.kind = Step::Kind::kField;
      CENV_RETURN_IF_ERROR(parse_quoted(step.name));
    } else if (c == '?') {
      ++pos_;
      CENV_RETURN_IF_ERROR(parse_filter(step));
    } else if (c == '-' || c == ':' || (c >= '0' && c <= '9')) {
      std::optional<int64_t> first;
      if (c != ':') {
        int64_t v = 0;
        CENV_RETURN_IF_ERROR(parse_int(v));
        first = v;
      }
      skip_spaces();
      if (consume(':')) {
        step.kind = Step::Kind::kSlice;
        step.start = first;
        skip_spaces();
        if (pos_ < end_ && (s_[pos_] == '-' || (s_[pos_] >= '0' && s_[pos_] <= '9'))) {
          int64_t v = 0;
          CENV_RETURN_IF_ERROR(parse_int(v));
          step.end = v;
        }
      } else {
        step.kind = Step::Kind::kIndex;
        step.index = *first;
      }
    } else {
      return error("unexpected '" + escape_for_display({&c, 1}) + "' in brackets");
    }
    skip_spaces();
    if (pos_ >= end_) return error_at("unterminated '['", open);
    return expect(']');
  }

  Status parse_int(int64_t& v) {
    size_t start = pos_;
    if (pos_ < end_ && s_[pos_] == '-') ++pos_;
    while (pos_ < end_ && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, v);
    if (ec != std::errc() || p != s_.data() + pos_) return error_at("invalid integer", start);
    return Status::Ok();
  }

  Status parse_quoted(std::string& out) {
    size_t open = pos_;
    char quote = s_[pos_++];
    while (pos_ < end_ && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < end_) ++pos_;
      out.push_back(s_[pos_++]);
    }
    if (pos_ >= end_) return error_at("unterminated string", open);
    ++pos_;
    return Status::Ok();
  }

  // After '?': `(@.path)` or `(@.path op literal)`.
  Status parse_filter(Step& step) {
    step.kind = Step::Kind::kFilter;
    auto filter = std::make_shared<Filter>();
    skip_spaces();
    CENV_RETURN_IF_ERROR(expect('('));
    skip_spaces();
    CENV_RETURN_IF_ERROR(expect('@'));
    auto path = std::make_shared<std::vector<Step>>();
    CENV_RETURN_IF_ERROR(parse_steps(*path, /*in_filter=*/true));
    filter->path = std::move(path);
    skip_spaces();
    if (pos_ >= end_) return error("unterminated filter");
    if (s_[pos_] != ')') {
      size_t op_at = pos_;
      std::string_view rest = s_.substr(pos_, end_ - pos_);
      static constexpr std::pair<std::string_view, Filter::Op> kOps[] = {
          {"==", Filter::Op::kEq}, {"!=", Filter::Op::kNe}, {"<=", Filter::Op::kLe},
          {">=", Filter::Op::kGe}, {"<", Filter::Op::kLt},  {">", Filter::Op::kGt}};
      bool found = false;
      for (const auto& [text, op] : kOps) {
        if (rest.starts_with(text)) {
          filter->op = op;
          pos_ += text.size();
          found = true;
          break;
        }
      }
      if (!found) return error_at("expected a comparison operator or ')'", op_at);
      skip_spaces();
      CENV_RETURN_IF_ERROR(parse_literal(filter->literal));
      skip_spaces();
    }
    CENV_RETURN_IF_ERROR(expect(')'));
    step.filter = std::move(filter);
    return Status::Ok();
  }

  Status parse_literal(json::value& out) {
    if (pos_ >= end_) return error("expected a value");
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      std::string str;
      CENV_RETURN_IF_ERROR(parse_quoted(str));
      out = json::string(str);
      return Status::Ok();
    }
    size_t start = pos_;
    while (pos_ < end_ && s_[pos_] != ')' && s_[pos_] != ' ') ++pos_;
    std::string_view word = s_.substr(start, pos_ - start);
    if (word == "true") {
      out = true;
    } else if (word == "false") {
      out = false;
    } else if (word == "null") {
      out = nullptr;
    } else {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), i);
      if (!word.empty() && ec == std::errc() && p == word.data() + word.size()) {
        out = i;
        return Status::Ok();
      }
      double d = 0;
      auto [pd, ecd] = std::from_chars(word.data(), word.data() + word.size(), d);
      if (word.empty() || ecd != std::errc() || pd != word.data() + word.size()) {
        return error_at("expected a string, number, true, false or null", start);
      }
      out = d;
    }
    return Status::Ok();
  }

  std::string_view s_;
  size_t pos_;
  size_t end_;
};

void eval_steps(const std::vector<Step>& steps, const json::value& root,
                std::vector<const json::value*>& out);

void add_descendants(const json::value& v, std::vector<const json::value*>& out) {
  out.push_back(&v);
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) add_descendants(kv.value(), out);
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) add_descendants(e, out);
  }
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool compare(const json::value& a, Filter::Op op, const json::value& b) {
  int cmp = 0;  // <0, 0, >0; only meaningful when `ordered`
  bool ordered = false;
  bool equal = false;
  if (auto x = as_number(a), y = as_number(b); x && y) {
    if (a.is_int64() && b.is_int64()) {
      cmp = a.get_int64() < b.get_int64() ? -1 : (a.get_int64() > b.get_int64() ? 1 : 0);
    } else {
      cmp = *x < *y ? -1 : (*x > *y ? 1 : 0);
    }
    ordered = true;
    equal = cmp == 0;
  } else if (a.is_string() && b.is_string()) {
    int c = a.get_string().compare(b.get_string());
    cmp = c < 0 ? -1 : (c > 0 ? 1 : 0);
    ordered = true;
    equal = cmp == 0;
  } else {
    equal = a == b;
  }
  switch (op) {
    case Filter::Op::kEq:
      return equal;
    case Filter::Op::kNe:
      return !equal;
    case Filter::Op::kLt:
      return ordered && cmp < 0;
    case Filter::Op::kLe:
      return ordered && cmp <= 0;
    case Filter::Op::kGt:
      return ordered && cmp > 0;
    case Filter::Op::kGe:
      return ordered && cmp >= 0;
    case Filter::Op::kExists:
      return true;
  }
  return false;
}

bool filter_matches(const Filter& f, const json::value& element) {
  std::vector<const json::value*> found;
  eval_steps(*f.path, element, found);
  if (f.op == Filter::Op::kExists) return !found.empty();
  for (const json::value* v : found) {
    if (compare(*v, f.op, f.literal)) return true;
  }
  return false;
}

// Clamps a Python-style (possibly negative) position into [0, size].
int64_t clamp_position(int64_t i, int64_t size) {
  if (i < 0) i += size;
  if (i < 0) return 0;
  return i > size ? size : i;
}

void apply_step(const Step& step, const json::value& v, std::vector<const json::value*>& out) {
  switch (step.kind) {
    case Step::Kind::kField:
      if (v.is_object()) {
        if (const json::value* child = v.get_object().if_contains(step.name)) {
          out.push_back(child);
        }
      }
      break;
    case Step::Kind::kWildcard:
      if (v.is_object()) {
        for (const auto& kv : v.get_object()) out.push_back(&kv.value());
      } else if (v.is_array()) {
        for (const auto& e : v.get_array()) out.push_back(&e);
      }
      break;
    case Step::Kind::kIndex:
      if (v.is_array()) {
        const json::array& a = v.get_array();
        int64_t size = static_cast<int64_t>(a.size());
        int64_t i = step.index < 0 ? step.index + size : step.index;
        if (i >= 0 && i < size) out.push_back(&a[static_cast<size_t>(i)]);
      }
      break;
    case Step::Kind::kSlice:
      if (v.is_array()) {
        const json::array& a = v.get_array();
        int64_t size = static_cast<int64_t>(a.size());
        int64_t b = step.start ? clamp_position(*step.start, size) : 0;
        int64_t e = step.end ? clamp_position(*step.end, size) : size;
        for (int64_t i = b; i < e; ++i) out.push_back(&a[static_cast<size_t>(i)]);
      }
      break;
    case Step::Kind::kFilter:
      if (v.is_array()) {
        for (const auto& e : v.get_array()) {
          if (filter_matches(*step.filter, e)) out.push_back(&e);
        }
      }
      break;
  }
}

void eval_steps(const std::vector<Step>& steps, const json::value& root,
                std::vector<const json::value*>& out) {
  std::vector<const json::value*> current{&root};
  std::vector<const json::value*> next;
  std::vector<const json::value*> targets;
  for (const Step& step : steps) {
    next.clear();
    const std::vector<const json::value*>* in = &current;
    if (step.recursive) {
      targets.clear();
      for (const json::value* v : current) add_descendants(*v, targets);
      in = &targets;
    }
    for (const json::value* v : *in) apply_step(step, *v, next);
    current.swap(next);
    if (current.empty()) return;
  }
  out.insert(out.end(), current.begin(), current.end());
}

}  // namespace

Result<JsonPath> JsonPath::parse(std::string_view expr) {
  size_t begin = 0;
  size_t end = expr.size();
  auto trim = [&] {
    while (begin < end && expr[begin] == ' ') ++begin;
    while (end > begin && expr[end - 1] == ' ') --end;
  };
  trim();
  Parser outer(expr, begin, end);
  if (begin < end && expr[begin] == '{') {
    if (expr[end - 1] != '}') return outer.error_at("unterminated '{'", begin);
    ++begin;
    --end;
    trim();
  }
  if (begin < end && expr[begin] == '$') ++begin;
  Parser parser(expr, begin, end);
  auto steps = std::make_shared<std::vector<Step>>();
  CENV_RETURN_IF_ERROR(parser.parse_steps(*steps, /*in_filter=*/false));
  JsonPath path;
  path.text_ = std::string(expr);
  path.steps_ = std::move(steps);
  return path;
}

std::vector<const json::value*> JsonPath::eval(const json::value& root) const {
  std::vector<const json::value*> out;
  if (steps_) eval_steps(*steps_, root, out);
  return out;
}

std::vector<std::string> JsonPath::schema_path() const {
  std::vector<std::string> out;
  if (!steps_) return out;
  for (const Step& step : *steps_) {
    if (step.recursive) break;
    if (step.kind == Step::Kind::kField) {
      out.push_back(step.name);
    } else if (step.kind == Step::Kind::kWildcard) {
      break;  // `.*` on an object: every member, no one field to check
    } else {
      out.push_back("[]");
    }
  }
  return out;
}

std::string jsonpath_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
      return ec == std::errc() ? std::string(buf, p) : json::serialize(v);
    }
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::null:
      return "null";
    default:
      return json::serialize(v);
  }
}

std::string jsonpath_text(const std::vector<const json::value*>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ' ';
    out += jsonpath_text(*values[i]);
  }
  return out;
}

}  // namespace cenv
