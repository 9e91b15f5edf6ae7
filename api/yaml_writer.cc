#include "api/yaml_writer.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

#include "api/utf8.h"
#include "api/yaml_scalars.h"

namespace cenv {
namespace {

namespace json = boost::json;

// non-characters).
bool needs_escape(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

// Would YAML 1.1 readers (PyYAML, go-yaml v2) read this plain scalar as something other than a
// string? Such strings are quoted too, so that the output means the same to them.
bool looks_like_yaml11_scalar(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "y" || lower == "n" || lower == "yes" || lower == "no" || lower == "on" ||
      lower == "off") {
    return true;
  }
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body.empty()) return false;
  bool numeric_start = (body[0] >= '0' && body[0] <= '9') ||
                       (body[0] == '.' && body.size() > 1 && body[1] >= '0' && body[1] <= '9');
  if (!numeric_start) return false;
  return body.find_first_not_of("0123456789abcdefox_.:+-tz") == std::string_view::npos;
}

// Can `s` be written as a plain scalar (as a value or a key, in block context) and read back as
// the same string?
bool plain_ok(std::string_view s) {
  if (s.empty() || !resolve_yaml_plain(s).is_string() || looks_like_yaml11_scalar(s)) return false;
  char first = s.front();
  if (std::string_view("[]{},#&*!|>'\"%@`?:").find(first) != std::string_view::npos) return false;
  if (first == '-' && (s.size() == 1 || s[1] == ' ')) return false;
  if (s.starts_with("---") || s.starts_with("...") || s == "<<") return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ' ') return false;
    if (c == '#' && s[i - 1] == ' ') return false;  // i > 0: a leading '#' was refused above
    char32_t cp = 0;
    size_t len = decode_utf8(s, i, &cp);
    if (len == 0 || needs_escape(cp)) return false;
    i += len - 1;
  }
  return true;
}

// Can `s` be written as a literal block scalar ("|") and read back unchanged?
bool literal_ok(std::string_view s) {
  size_t first_break = s.find('\n');
  if (first_break == std::string_view::npos || first_break == 0) return false;
  if (s.front() == ' ' || s.front() == '\t') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n') {
      if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) return false;  // trailing blanks
      continue;
    }
    if (c == '\t' && (i == 0 || s[i - 1] == '\n')) return false;
    if (c == '\t') continue;
    char32_t cp = 0;
    size_t len = decode_utf8(s, i, &cp);
    if (len == 0 || needs_escape(cp)) return false;
    i += len - 1;
  }
  return s.back() != ' ' && s.back() != '\t';
}

void append_double_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\0':
        out += "\\0";
        continue;
      default:
        break;
    }
    char32_t cp = 0;
    size_t len = decode_utf8(s, i, &cp);
    if (len == 0) {
      out += c;  // not UTF-8: YAML cannot represent it; written as is
      continue;
    }
    if (needs_escape(cp)) {
      if (cp <= 0xFF) {
        out += "\\x";
        out += kHex[cp >> 4];
        out += kHex[cp & 0xF];
      } else {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
      }
    } else {
      out.append(s.substr(i, len));
    }
    i += len - 1;
  }
  out += '"';
}

// Shortest text that reads back as the same double (and as a float, not an integer).
std::string format_double(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Implicit keys are limited to 1024 characters; longer keys use the explicit "? key" form.
constexpr size_t kMaxImplicitKey = 1000;

class YamlWriter {
 public:
  std::string out;

  void root(const json::value& v) {
    if (is_block_collection(v)) {
      if (v.is_object()) {
        map(v.get_object(), 0, false);
      } else {
        seq(v.get_array(), 0, false);
      }
    } else if (v.is_string()) {
      string_value(v.get_string(), 2);
    } else {
      out += inline_scalar(v);
      out += '\n';
    }
  }

 private:
  enum class Context { kMapValue, kSeqItem };

  static bool is_block_collection(const json::value& v) {
    return (v.is_object() && !v.get_object().empty()) || (v.is_array() && !v.get_array().empty());
  }

  static std::string inline_scalar(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return "null";
      case json::kind::bool_:
        return v.get_bool() ? "true" : "false";
      case json::kind::int64:
        return std::to_string(v.get_int64());
      case json::kind::uint64:
        return std::to_string(v.get_uint64());
      case json::kind::double_:
        return format_double(v.get_double());
      case json::kind::object:
        return "{}";
      case json::kind::array:
        return "[]";
      case json::kind::string:
        break;
    }
    return {};
  }

  void indent(size_t n) { out.append(n, ' '); }

  void map(const json::object& obj, size_t ind, bool first_inline) {
    bool first = true;
    for (const auto& kv : obj) {
      if (!(first && first_inline)) indent(ind);
      first = false;
      std::string key;
      if (plain_ok(kv.key())) {
        key = kv.key();
      } else {
        append_double_quoted(key, kv.key());
      }
      if (key.size() > kMaxImplicitKey) {
        out += "? ";
        out += key;
        out += '\n';
        indent(ind);
        out += ':';
        explicit_value(kv.value(), ind);
        continue;
      }
      out += key;
      out += ':';
      node(kv.value(), ind, Context::kMapValue);
    }
  }

  // The value after an explicit key's ":"; a sequence is indented here (no compact form).
  void explicit_value(const json::value& v, size_t ind) {
    if (v.is_array() && !v.get_array().empty()) {
      out += '\n';
      seq(v.get_array(), ind + 2, false);
      return;
    }
    node(v, ind, Context::kMapValue);
  }

  void seq(const json::array& arr, size_t ind, bool first_inline) {
    bool first = true;
    for (const auto& item : arr) {
      if (!(first && first_inline)) indent(ind);
      first = false;
      out += "- ";
      node(item, ind, Context::kSeqItem);
    }
  }

  // Writes `v` after "key:" (kMapValue) or "- " (kSeqItem) of an entry at indentation `ind`.
  void node(const json::value& v, size_t ind, Context ctx) {
    if (v.is_object() && !v.get_object().empty()) {
      if (ctx == Context::kMapValue) {
        out += '\n';
        map(v.get_object(), ind + 2, false);
      } else {
        map(v.get_object(), ind + 2, true);
      }
      return;
    }
    if (v.is_array() && !v.get_array().empty()) {
      if (ctx == Context::kMapValue) {
        out += '\n';
        seq(v.get_array(), ind, false);  // kubectl style: "key:\n- item"
      } else {
        seq(v.get_array(), ind + 2, true);
      }
      return;
    }
    if (ctx == Context::kMapValue) out += ' ';
    if (v.is_string()) {
      string_value(v.get_string(), ind + 2);
    } else {
      out += inline_scalar(v);
      out += '\n';
    }
  }

  // A string value and its line break; block scalar lines are indented by `content_indent`.
  void string_value(std::string_view s, size_t content_indent) {
    if (literal_ok(s)) {
      size_t body_end = s.find_last_not_of('\n') + 1;
      size_t trailing = s.size() - body_end;
      out += trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
      out += '\n';
      std::string_view body = s.substr(0, body_end);
      size_t pos = 0;
      while (pos <= body.size()) {
        size_t end = body.find('\n', pos);
        if (end == std::string_view::npos) end = body.size();
        if (end > pos) {
          indent(content_indent);
          out.append(body.substr(pos, end - pos));
        }
        out += '\n';
        pos = end + 1;
      }
      if (trailing > 1) out.append(trailing - 1, '\n');
      return;
    }
    if (plain_ok(s)) {
      out.append(s);
    } else {
      append_double_quoted(out, s);
    }
    out += '\n';
  }
};

// ---------------------------------------------------------------------------------------------
// Writing JSON

void append_json_number(std::string& out, double d) {
  // JSON has no infinities or NaN; written as Boost.JSON does.
  if (std::isnan(d)) {
    out += "null";
  } else if (std::isinf(d)) {
    out += d > 0 ? "1e99999" : "-1e99999";
  } else {
    out += format_double(d);
  }
}

void append_json(std::string& out, const json::value& v, bool pretty, size_t ind) {
  auto newline = [&](size_t n) {
    if (!pretty) return;
    out += '\n';
    out.append(n, ' ');
  };
  switch (v.kind()) {
    case json::kind::object: {
      const json::object& obj = v.get_object();
      if (obj.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& kv : obj) {
        if (!first) out += ',';
        first = false;
        newline(ind + 2);
        out += json::serialize(kv.key());
        out += pretty ? ": " : ":";
        append_json(out, kv.value(), pretty, ind + 2);
      }
      newline(ind);
      out += '}';
      return;
    }
    case json::kind::array: {
      const json::array& arr = v.get_array();
      if (arr.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : arr) {
        if (!first) out += ',';
        first = false;
        newline(ind + 2);
        append_json(out, item, pretty, ind + 2);
      }
      newline(ind);
      out += ']';
      return;
    }
    case json::kind::double_:
      append_json_number(out, v.get_double());
      return;
    default:
      out += json::serialize(v);
      return;
  }
}

}  // namespace

std::string to_yaml(const boost::json::value& v) {
  YamlWriter w;
  w.root(v);
  return std::move(w.out);
}

std::string to_json_text(const boost::json::value& v, bool pretty) {
  std::string out;
  append_json(out, v, pretty, 0);
  if (pretty) out += '\n';
  return out;
}

}  // namespace cenv
