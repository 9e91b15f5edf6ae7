// The fields crds/module.yaml gives a Module for modules/: spec.options and spec.source.digest.
#include <catch2/catch.hpp>
#include <string>

#include "api/kinds.h"
#include "api/object.h"

namespace {

cenv::Status validate(const std::string& spec) {
  auto kinds = cenv::KindRegistry::builtin();
  REQUIRE(kinds.ok());
  auto object = cenv::Object::from_json(
      R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"m"},"spec":)" + spec + "}");
  REQUIRE(object.ok());
  return (*kinds)->default_and_validate(*object);
}

}  // namespace

TEST_CASE("a Module's options and source digest are validated by its CRD",
          "[modules][module_crd]") {
  struct Row {
    std::string spec;
    std::string error;  // "" when valid, else "path: message" of the one field error
  };
  const std::string digest = "sha256:" + std::string(64, 'a');
  const Row rows[] = {
      {R"({"source":{"path":"jq","digest":")" + digest + R"("},"options":{"version":"1.7",
        "with-docs":true,"jobs":4}})",
       ""},
      {R"({"source":{"path":"jq"},"options":{"x":{"a":1}}})",
       "spec.options.x: Invalid value: \"object\": expected string, boolean or integer"},
      {R"({"source":{"path":"jq"},"options":{"x":1.5}})",
       "spec.options.x: Invalid value: \"number\": expected string, boolean or integer"},
      {R"({"source":{"path":"jq"},"options":{"9x":"a"}})",
       "spec.options[9x]: Invalid value: \"9x\": must be letters, digits, '_' and '-', starting "
       "with a letter"},
      {R"({"source":{"path":"jq","digest":"md5:abc"}})",
       "spec.source.digest: Invalid value: \"md5:abc\": must be sha256:<64 lowercase hex "
       "digits>"},
      {R"({"install":"make","commands":{"t":{"command":["pytest"],"args":["-q"]}}})", ""},
  };
  for (const Row& row : rows) {
    INFO(row.spec);
    cenv::Status s = validate(row.spec);
    if (row.error.empty()) {
      INFO(s.to_string());
      CHECK(s.ok());
    } else {
      REQUIRE_FALSE(s.ok());
      REQUIRE(s.fields().size() == 1);
      CHECK(s.fields()[0].path + ": " + s.fields()[0].message == row.error);
    }
  }
}
