#include "api/display_text.h"

#include "api/utf8.h"

namespace cenv {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Code points above U+007F that print as nothing or move text around: C1 controls, line and
// paragraph separators, zero-width and bidirectional formatting characters, the BOM.
bool invisible(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

void append_byte_escape(std::string& out, unsigned char b) {
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xF];
}

void append_code_point_escape(std::string& out, char32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
}

}  // namespace

std::string escape_for_display(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      append_byte_escape(out, c);
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    char32_t cp = 0;
    size_t len = decode_utf8(s, i, &cp);
    if (len == 0) {
      append_byte_escape(out, c);  // not UTF-8: this byte alone, then go on with the next
      continue;
    }
    if (invisible(cp)) {
      append_code_point_escape(out, cp);  // all of them lie in the Basic Multilingual Plane
    } else {
      out.append(s.substr(i, len));
    }
    i += len - 1;
  }
  return out;
}

std::string strip_terminal_sequences(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\x1b' || i + 1 >= s.size() || s[i + 1] != '[') {
      if (s[i] != '\x1b') out.push_back(s[i]);
      continue;
    }
    // Parameter and intermediate bytes (0x20-0x3f), then one final byte (0x40-0x7e).
    size_t j = i + 2;
    while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x3f) ++j;
    i = j;  // the final byte (or the end) is skipped with the sequence
  }
  return out;
}

}  // namespace cenv
