#include "api/names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cenv {
namespace {

namespace json = boost::json;

const std::string kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
const std::string kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com')";
const std::string kNamePartMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
const std::string kValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue', or "
    "'my_value', or '12345')";

struct Row {
  std::string input;
  std::string want;  // empty: valid
};

TEST_CASE("check_dns1123_label accepts lower-case labels up to 63 characters", "[names]") {
  const std::vector<Row> rows = {
      {"a", ""},
      {"0", ""},
      {"my-name", ""},
      {"123-abc", ""},
      {"a--b", ""},
      {std::string(63, 'a'), ""},
      {"", kLabelMsg},
      {"A", kLabelMsg},
      {"myName", kLabelMsg},
      {"my_name", kLabelMsg},
      {"my.name", kLabelMsg},
      {"-a", kLabelMsg},
      {"a-", kLabelMsg},
      {"a b", kLabelMsg},
      {"caf\xC3\xA9", kLabelMsg},
      {std::string(64, 'a'), "must be no more than 63 characters"},
      {std::string(64, 'A'), "must be no more than 63 characters; " + kLabelMsg},
  };
  for (const auto& row : rows) {
    INFO("input: \"" << row.input << "\"");
    CHECK(check_dns1123_label(row.input) == row.want);
  }
}

TEST_CASE("check_label_key accepts an optional DNS subdomain prefix and a qualified name",
          "[names]") {
  const std::string prefix253 = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                std::string(63, 'c') + "." + std::string(61, 'd');
  const std::vector<Row> rows = {
      {"app", ""},
      {"App.Name_1-x", ""},
      {"9", ""},
      {"example.com/app", ""},
      {"a.b-c.d/X_y", ""},
      {"k8s.io/Name", ""},
      {std::string(63, 'n'), ""},
      {prefix253 + "/name", ""},
      {"", "name part must be non-empty"},
      {"/a", "prefix part must be non-empty"},
      {"a/", "name part must be non-empty"},
      {"_app", kNamePartMsg},
      {"app_", kNamePartMsg},
      {"a b", kNamePartMsg},
      {"a:b", kNamePartMsg},
      {std::string(64, 'n'), "name part must be no more than 63 characters"},
      {"Example.com/a", "prefix part " + kSubdomainMsg},
      {"example..com/a", "prefix part " + kSubdomainMsg},
      {"x" + prefix253 + "/a", "prefix part must be no more than 253 characters"},
      {"a/b/c",
       "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
       "start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or "
       "'123-abc') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
      {"Bad/-x", "prefix part " + kSubdomainMsg + "; " + kNamePartMsg},
  };
  for (const auto& row : rows) {
    INFO("input: \"" << row.input << "\"");
    CHECK(check_label_key(row.input) == row.want);
  }
}

TEST_CASE("check_label_value accepts empty or up to 63 qualified-name characters", "[names]") {
  const std::vector<Row> rows = {
      {"", ""},
      {"v1", ""},
      {"My_Value.1-x", ""},
      {std::string(63, 'v'), ""},
      {"-a", kValueMsg},
      {"a-", kValueMsg},
      {"a b", kValueMsg},
      {"a/b", kValueMsg},
      {"\xC3\xA9", kValueMsg},
      {std::string(64, 'v'), "must be no more than 63 characters"},
  };
  for (const auto& row : rows) {
    INFO("input: \"" << row.input << "\"");
    CHECK(check_label_value(row.input) == row.want);
  }
}

std::string describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.path + ": " + e.message;
  return out;
}

TEST_CASE("validate_object_meta reports every invalid metadata field with its path", "[names]") {
  struct MetaRow {
    const char* name;
    std::string object;
    bool namespaced;
    std::vector<FieldError> want;
  };
  const std::vector<MetaRow> rows = {
      {"a complete valid object",
       R"({"metadata": {"name": "web", "namespace": "default",
           "labels": {"app": "web", "example.com/tier": ""},
           "annotations": {"note": "anything: goes ✓", "cenv.io/x": ""},
           "finalizers": ["cenv.io/cleanup", "orphan"]}})",
       true,
       {}},
      {"server-owned fields are not checked here",
       R"({"metadata": {"name": "web", "uid": 5, "resourceVersion": "x y",
           "creationTimestamp": 1, "generation": "g", "deletionTimestamp": [],
           "managedFields": {}}})",
       true,
       {}},
      {"missing metadata", R"({"kind": "Service"})", true, {{"metadata", "required"}}},
      {"null metadata", R"({"metadata": null})", true, {{"metadata", "required"}}},
      {"metadata not an object",
       R"({"metadata": "web"})",
       true,
       {{"metadata", "must be an object"}}},
      {"missing name", R"({"metadata": {}})", true, {{"metadata.name", "required"}}},
      {"empty name", R"({"metadata": {"name": ""}})", true, {{"metadata.name", "required"}}},
      {"non-string name",
       R"({"metadata": {"name": 5}})",
       true,
       {{"metadata.name", "must be a string"}}},
      {"invalid name", R"({"metadata": {"name": "Web_1"}})", true, {{"metadata.name", kLabelMsg}}},
      {"long name",
       R"({"metadata": {"name": ")" + std::string(64, 'a') + R"("}})",
       true,
       {{"metadata.name", "must be no more than 63 characters"}}},
      {"generateName instead of a name", R"({"metadata": {"generateName": "web-"}})", true, {}},
      {"generateName without a dash", R"({"metadata": {"generateName": "web"}})", true, {}},
      {"invalid generateName",
       R"({"metadata": {"generateName": "Web-"}})",
       true,
       {{"metadata.generateName", kLabelMsg}}},
      {"generateName leaving no room for the suffix",
       R"({"metadata": {"generateName": ")" + std::string(59, 'a') + R"("}})",
       true,
       {{"metadata.generateName",
         "must be no more than 58 characters (5 random characters are appended)"}}},
      {"invalid namespace",
       R"({"metadata": {"name": "a", "namespace": "Bad_NS"}})",
       true,
       {{"metadata.namespace", kLabelMsg}}},
      {"namespace on a cluster-scoped kind",
       R"({"metadata": {"name": "a", "namespace": "x"}})",
       false,
       {{"metadata.namespace", "must not be set for a cluster-scoped kind"}}},
      {"empty namespace on a cluster-scoped kind",
       R"({"metadata": {"name": "a", "namespace": ""}})",
       false,
       {}},
      {"labels not a map",
       R"({"metadata": {"name": "a", "labels": ["app"]}})",
       true,
       {{"metadata.labels", "must be a map of string keys to string values"}}},
      {"invalid label key and values",
       R"({"metadata": {"name": "a", "labels": {"bad key": "v", "ok": "-x", "n": 1}}})",
       true,
       {{"metadata.labels[bad key]", "invalid label key: " + kNamePartMsg},
        {"metadata.labels[ok]", "invalid value \"-x\": " + kValueMsg},
        {"metadata.labels[n]", "must be a string"}}},
      {"invalid annotation key and value",
       R"({"metadata": {"name": "a", "annotations": {"a/b/c/": "v", "n": true}}})",
       true,
       {{"metadata.annotations[a/b/c/]",
         "invalid annotation key: a qualified name must consist of alphanumeric characters, "
         "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
         "'MyName', or 'my.name', or '123-abc') with an optional DNS subdomain prefix and '/' "
         "(e.g. 'example.com/MyName')"},
        {"metadata.annotations[n]", "must be a string"}}},
      {"finalizers not a list",
       R"({"metadata": {"name": "a", "finalizers": "x"}})",
       true,
       {{"metadata.finalizers", "must be a list of strings"}}},
      {"invalid finalizers",
       R"({"metadata": {"name": "a", "finalizers": ["ok.io/x", 3, "bad finalizer"]}})",
       true,
       {{"metadata.finalizers[1]", "must be a string"}, {"metadata.finalizers[2]", kNamePartMsg}}},
      {"control characters of keys and values are escaped",
       R"({"metadata": {"name": "a", "labels": {"k\u0001\n": "v\u0007"},
           "annotations": {"x\ty": 1}}})",
       true,
       {{"metadata.labels[k\\x01\\n]", "invalid label key: " + kNamePartMsg},
        {"metadata.labels[k\\x01\\n]", "invalid value \"v\\x07\": " + kValueMsg},
        {"metadata.annotations[x\\ty]", "invalid annotation key: " + kNamePartMsg},
        {"metadata.annotations[x\\ty]", "must be a string"}}},
      {"every error, not just the first",
       R"({"metadata": {"name": "Bad", "namespace": "Bad", "labels": {"-": "-"}}})",
       true,
       {{"metadata.name", kLabelMsg},
        {"metadata.namespace", kLabelMsg},
        {"metadata.labels[-]", "invalid label key: " + kNamePartMsg},
        {"metadata.labels[-]", "invalid value \"-\": " + kValueMsg}}},
  };
  for (const auto& row : rows) {
    INFO(row.name << ": " << row.object);
    std::vector<FieldError> errors;
    validate_object_meta(json::parse(row.object).as_object(), row.namespaced, &errors);
    INFO("got:" << describe(errors));
    INFO("want:" << describe(row.want));
    CHECK(errors == row.want);
  }
}

TEST_CASE("annotations may total 256 KiB of keys and values, and no more", "[names]") {
  json::object obj = {{"metadata", {{"name", "a"}}}};
  json::object& annotations = obj["metadata"].as_object()["annotations"].emplace_object();
  annotations["a"] = std::string((256 << 10) - 2, 'x');  // 1 + 262142
  annotations["b"] = "";                                 // + 1 = 262144
  std::vector<FieldError> errors;
  validate_object_meta(obj, true, &errors);
  CHECK(errors.empty());

  annotations["b"] = "y";
  validate_object_meta(obj, true, &errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        FieldError{"metadata.annotations",
                   "total size of keys and values must be no more than 262144 bytes (is 262145)"});
}

}  // namespace
}  // namespace cenv
