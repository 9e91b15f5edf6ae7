#include "controller/security/secret_box.h"

#include <catch2/catch.hpp>
#include <string>

#include "controller/security/text_encoding.h"
#include "test/unit/controller/security/security_test_support.h"

namespace cenv::security {
namespace {

using testing::contains;
using testing::must;

constexpr std::string_view kField = "Environment/default/demo/spec.secrets/DB_PASSWORD";

TEST_CASE("a sealed secret opens with its key and field, and shows neither", "[security][seal]") {
  auto key = must(DataKey::generate());
  for (std::string secret : {std::string("hunter2"), std::string(), std::string(5000, 'x')}) {
    std::string sealed = must(seal(key, secret, kField));
    CHECK(is_sealed(sealed));
    CHECK(sealed.starts_with("enc:v1:" + key.id() + ":"));
    if (!secret.empty()) CHECK_FALSE(contains(sealed, secret));
    CHECK(must(open_sealed(Keyring(key), sealed, kField)) == secret);
    CHECK(must(sealed_key_id(sealed)) == key.id());
  }
}

TEST_CASE("sealing the same secret twice gives different text (random nonce)", "[security][seal]") {
  auto key = must(DataKey::generate());
  CHECK(must(seal(key, "s", kField)) != must(seal(key, "s", kField)));
}

TEST_CASE("a changed byte anywhere in a sealed secret is refused", "[security][seal]") {
  auto key = must(DataKey::generate());
  std::string sealed = must(seal(key, "hunter2", kField));
  std::string header = "enc:v1:" + key.id() + ":";
  std::string payload = *base64_decode(sealed.substr(header.size()));
  for (size_t i = 0; i < payload.size(); ++i) {
    std::string tampered = payload;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto opened = open_sealed(Keyring(key), header + base64_encode(tampered), kField);
    INFO("byte " << i);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == Code::kInvalid);
    CHECK(contains(opened.status().message(), std::string(kField) + ": the sealed value"));
    CHECK(contains(opened.status().message(), "does not authenticate"));
  }
}

TEST_CASE("a secret sealed for one field does not open for another", "[security][seal]") {
  auto key = must(DataKey::generate());
  std::string sealed = must(seal(key, "hunter2", kField));
  auto opened =
      open_sealed(Keyring(key), sealed, "Environment/default/other/spec.secrets/DB_PASSWORD");
  CHECK(opened.status().code() == Code::kInvalid);
  CHECK(contains(opened.status().message(), "does not authenticate"));
}

TEST_CASE("a secret sealed under an old key opens with a keyring holding it", "[security][seal]") {
  auto old_key = must(DataKey::generate());
  auto new_key = must(DataKey::generate());
  std::string sealed = must(seal(old_key, "hunter2", kField));
  auto unknown = open_sealed(Keyring(new_key), sealed, kField);
  CHECK(unknown.status().code() == Code::kFailedPrecondition);
  CHECK(contains(unknown.status().message(),
                 "sealed with data key " + old_key.id() + ", which this keyring does not hold"));
  Keyring both(new_key);
  both.add(old_key);
  CHECK(must(open_sealed(both, sealed, kField)) == "hunter2");
}

TEST_CASE("malformed sealed values are refused without a crash", "[security][seal]") {
  auto key = must(DataKey::generate());
  std::string good = must(seal(key, "hunter2", kField));
  std::string id = key.id();
  struct Row {
    std::string text;
    std::string message;
  };
  std::vector<Row> rows = {
      {"hunter2", "does not start with \"enc:\""},
      {"enc:v2:" + id + ":AAAA", "unknown format version"},
      {"enc:v1:xyz:AAAA", "the key id is not 8 hex digits"},
      {"enc:v1:" + id + "AAAA", "the key id is not 8 hex digits"},
      {"enc:v1:" + id + ":not base64!", "the payload is not base64"},
      {"enc:v1:" + id + ":AAAA", "the payload is too short"},
      {"enc:v1:" + id + ":", "the payload is too short"},
      {"enc:v1:" + id + ":" + std::string(2 * 1024 * 1024, 'A'), "longer than any sealed secret"},
      {good.substr(0, good.size() - 4), "does not authenticate"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    auto opened = open_sealed(Keyring(key), row.text, kField);
    REQUIRE_FALSE(opened.ok());
    CHECK(contains(opened.status().message(), row.message));
  }
}

TEST_CASE("secrets and associated data are bounded", "[security][seal]") {
  auto key = must(DataKey::generate());
  CHECK(seal(key, std::string(kMaxSecretBytes, 'x'), kField).ok());
  auto big = seal(key, std::string(kMaxSecretBytes + 1, 'x'), kField);
  CHECK(big.status().code() == Code::kInvalid);
  CHECK(contains(big.status().message(), "more than the 1048576 allowed"));
  auto long_field = seal(key, "s", std::string(kMaxAssociatedDataBytes + 1, 'f'));
  CHECK(long_field.status().code() == Code::kInvalid);
}

}  // namespace
}  // namespace cenv::security
