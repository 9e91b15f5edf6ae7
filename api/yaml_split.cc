#include "api/yaml_split.h"

#include <algorithm>

namespace cenv {

namespace {

// Printable ASCII, tab and newline: the bytes whose line counting libyaml and '\n' agree on.
bool plain_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\n' || c == '\t';
  });
}

// The offset of the first line at or after `from` that starts a document ("---" then a blank
// or the end of the line or text); npos when there is none.
size_t next_document_start(std::string_view text, size_t from) {
  for (size_t at = text.find("\n---", from == 0 ? 0 : from - 1); at != std::string_view::npos;
       at = text.find("\n---", at + 1)) {
    size_t after = at + 4;
    if (after == text.size() || text[after] == ' ' || text[after] == '\t' || text[after] == '\n') {
      return at + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<size_t> yaml_cut_points(std::string_view text, size_t parts, size_t min_part_bytes) {
  std::vector<size_t> cuts;
  if (parts < 2 || min_part_bytes == 0 || text.size() < 2 * min_part_bytes) return cuts;
  parts = std::min(parts, text.size() / min_part_bytes);
  if (!plain_ascii(text)) return cuts;
  size_t last = 0;  // where the current part starts
  for (size_t i = 1; i < parts; ++i) {
    size_t target = std::max(text.size() * i / parts, last + min_part_bytes);
    size_t cut = next_document_start(text, target);
    if (cut == std::string_view::npos || text.size() - cut < min_part_bytes) break;
    cuts.push_back(cut);
    last = cut;
  }
  return cuts;
}

}  // namespace cenv
