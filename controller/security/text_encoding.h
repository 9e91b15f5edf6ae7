#pragma once
// Hex and base64 (RFC 4648, with padding) for keys, digests and sealed secrets.

#include <optional>
#include <string>
#include <string_view>

namespace cenv::security {

// Lower-case hex of `bytes`.
std::string hex_encode(std::string_view bytes);
// The bytes of `hex` (either case); nullopt if its length is odd or it has a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

// Base64 of `bytes`, padded, no line breaks.
std::string base64_encode(std::string_view bytes);
// The bytes of padded base64 `text` without whitespace; nullopt if it is not exactly that.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace cenv::security
