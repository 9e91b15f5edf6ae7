// What `-f` reading refuses before anything reaches the API: numbers JSON cannot carry.

#include "cli/manifest_reader.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "api/json_text.h"

namespace cenv::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text) {
    path = fs::temp_directory_path() /
           ("cenv-manifest-reader-test-" + std::to_string(std::random_device{}()) + ".yaml");
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

constexpr const char* kModule = R"(apiVersion: cenv.io/v1
kind: Module
metadata: {name: greeter, namespace: demo}
spec:
  source: {path: greeter}
  options: {times: VALUE}
)";

std::string with_value(const std::string& value) {
  std::string text = kModule;
  text.replace(text.find("VALUE"), 5, value);
  return text;
}

TEST_CASE("manifest reader: infinity and NaN are refused naming file, object and field",
          "[manifest_reader]") {
  for (const char* value : {".inf", "-.Inf", "1e400", ".nan"}) {
    INFO(value);
    TempFile file(with_value(value));
    auto read = read_manifests({file.path.string()}, false);
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == Code::kInvalid);
    const std::string& message = read.status().message();
    CHECK(message.find(file.path.string() + " (document 1)") != std::string::npos);
    CHECK(message.find("Module \"greeter\" in namespace \"demo\"") != std::string::npos);
    CHECK(message.find("spec.options.times: Invalid value: a number must be finite") !=
          std::string::npos);
  }
  // Finite numbers and the quoted text read as they are.
  for (const char* value : {"3", "1e300", "'.inf'"}) {
    INFO(value);
    TempFile file(with_value(value));
    auto read = read_manifests({file.path.string()}, false);
    REQUIRE(read.ok());
    CHECK(read->size() == 1);
  }
}

TEST_CASE("manifest reader: a List item with infinity names the item", "[manifest_reader]") {
  TempFile file(
      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: cenv.io/v1\n  kind: Service\n"
      "  metadata: {name: web}\n  spec: {image: x, ports: [{containerPort: .inf}]}\n");
  auto read = read_manifests({file.path.string()}, false);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().message().find("(document 1, item 0): Service \"web\": "
                                     "spec.ports[0].containerPort: Invalid value") !=
        std::string::npos);
}

TEST_CASE("non_finite_number_error names the path of the first such number", "[manifest_reader]") {
  json::value v = json::parse(R"({"a": [1, {"b": 2.5}], "c": {"d": [[0, 1]]}})");
  CHECK_FALSE(non_finite_number_error(v).has_value());
  v.as_object()["c"].as_object()["d"].as_array()[0].as_array()[1] =
      std::numeric_limits<double>::infinity();
  auto error = non_finite_number_error(v);
  REQUIRE(error.has_value());
  CHECK(error->starts_with("c.d[0][1]: Invalid value: a number must be finite"));
  CHECK(non_finite_number_error(json::value(std::nan("")))
            .value()
            .starts_with("Invalid value: a number"));
}

}  // namespace
}  // namespace cenv::cli
