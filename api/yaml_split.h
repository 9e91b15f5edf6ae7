#pragma once
// Cutting a multi-document YAML text into parts that libyaml reads on their own, so that a large
// manifest is parsed on several threads (yaml_reader.cc). Each part after the first starts at a
// line that begins with "---" and a blank or the line's end: libyaml reads such a line as a
// document start wherever it appears (it ends a plain or block scalar; inside a quoted scalar
// or a flow collection it is an error), so each part holds whole documents, unless the text is
// malformed there, and then parsing a part fails too.

#include <cstddef>
#include <string_view>
#include <vector>

namespace cenv {

// The offsets where parts 2..n of `text` start, at most `parts` - 1 of them, each part at least
// `min_part_bytes` long, in increasing order. Empty (read it whole) when the text is too small
// to cut, has no document start where a cut would go, or holds a byte outside printable ASCII
// other than tab and newline: the parts' line numbers then add up to the whole text's exactly
// (libyaml counts "\r", "\r\n" and some Unicode characters as line breaks too).
std::vector<size_t> yaml_cut_points(std::string_view text, size_t parts, size_t min_part_bytes);

}  // namespace cenv
