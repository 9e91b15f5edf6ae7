#include "controller/security/text_encoding.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cenv::security {
namespace {

TEST_CASE("hex and base64 round trip every length", "[security][encoding]") {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    INFO("length " << bytes.size());
    CHECK(hex_decode(hex_encode(bytes)) == bytes);
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
    bytes += static_cast<char>(i * 37);
  }
  CHECK(hex_encode("\x01\xab") == "01ab");
  CHECK(base64_encode("hi!") == "aGkh");
  CHECK(base64_encode("hi") == "aGk=");
}

TEST_CASE("malformed hex and base64 are refused", "[security][encoding]") {
  for (const char* text : {"a", "zz", "0g"}) {
    INFO(text);
    CHECK_FALSE(hex_decode(text));
  }
  for (const char* text : {"a", "aGk", "aG=k", "a===", "aGk=aGk=", "aG k", "aGk\n"}) {
    INFO(text);
    CHECK_FALSE(base64_decode(text));
  }
}

}  // namespace
}  // namespace cenv::security
