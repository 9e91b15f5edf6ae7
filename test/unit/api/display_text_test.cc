#include "api/display_text.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cenv {
namespace {

TEST_CASE("escape_for_display escapes what would not show as itself and keeps the rest",
          "[display_text]") {
  struct Row {
    std::string in;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"", ""},
      {"web-1", "web-1"},
      {"a b: \"c\" 'd' [e] {f}", "a b: \"c\" 'd' [e] {f}"},
      {"a\nb", "a\\nb"},
      {"a\r\nb", "a\\r\\nb"},
      {"a\tb", "a\\tb"},
      {"C:\\dir .a\\.b", "C:\\dir .a\\.b"},
      {"a\x01"
       "b\nc",
       "a\\x01b\\nc"},
      {std::string("a\0b", 3), "a\\x00b"},
      {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
      {"del\x7f", "del\\x7f"},
      {"caf\xc3\xa9", "caf\xc3\xa9"},                            // é
      {"\xe5\x90\x8d\xe5\x89\x8d", "\xe5\x90\x8d\xe5\x89\x8d"},  // 名前
      {"\xf0\x9f\x90\xb3", "\xf0\x9f\x90\xb3"},                  // 🐳
      {"\xc2\x85next", "\\u0085next"},                           // C1 NEL
      {"a\xe2\x80\xa8"
       "b",
       "a\\u2028b"},  // line separator
      {"x\xe2\x80\xae"
       "cba",
       "x\\u202ecba"},                      // right-to-left override
      {"\xef\xbb\xbfname", "\\ufeffname"},  // byte order mark
      {"zero\xe2\x80\x8bwidth", "zero\\u200bwidth"},
      {"bad\xff", "bad\\xff"},              // not UTF-8
      {"\xc3", "\\xc3"},                    // truncated sequence
      {"\xc3(", "\\xc3("},                  // broken sequence, next byte kept
      {"\xc0\xaf", "\\xc0\\xaf"},           // overlong '/'
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},  // UTF-16 surrogate
  };
  for (const Row& row : rows) {
    INFO("input bytes: " << row.want);
    CHECK(escape_for_display(row.in) == row.want);
  }
}

TEST_CASE("escape_for_display never returns a control character", "[display_text]") {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  std::string out = escape_for_display(every_byte);
  for (char c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    INFO("byte " << static_cast<int>(u));
    CHECK((u >= 0x20 && u != 0x7F));
  }
}

}  // namespace
}  // namespace cenv

TEST_CASE("strip_terminal_sequences drops colours and keeps the text", "[display_text]") {
  struct Row {
    std::string in, out;
  };
  const std::vector<Row> rows = {
      {"\x1b[91mE\x1b[0m\x1b[91m: \x1b[0m\x1b[91mUnable to locate package x\x1b[0m",
       "E: Unable to locate package x"},
      {"plain line", "plain line"},
      {"\x1b[1;31mbold red\x1b[m", "bold red"},
      {"cut \x1b[9", "cut "},
      {"lone \x1b escape", "lone  escape"},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO(cenv::escape_for_display(row.in));
    CHECK(cenv::strip_terminal_sequences(row.in) == row.out);
  }
}
