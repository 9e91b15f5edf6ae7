#pragma once
// UTF-8 decoding for code that writes or displays text byte by byte.

#include <cstddef>
#include <string_view>

namespace cenv {

// Decodes the UTF-8 sequence that starts at s[i] (i < s.size()); returns its length in bytes
// and sets *cp, or returns 0 (and leaves *cp unspecified) when the bytes there are not valid
// UTF-8: a stray continuation byte, a truncated or overlong sequence, a surrogate, or a code
// point above U+10FFFF.
size_t decode_utf8(std::string_view s, size_t i, char32_t* cp);

// The offset of the first byte of `s` that does not start a valid UTF-8 sequence (as
// decode_utf8 sees it); std::string_view::npos when all of `s` is valid.
size_t invalid_utf8_at(std::string_view s);

}  // namespace cenv
