// `cenv convert` on the test compose files (test/data/compose/): what it prints, what it writes
// with -o, and one clear error for bad files.

#include "cli/convert_cmd.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/yaml_reader.h"
#include "test/temp_dir.h"

namespace cenv::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kData = std::string(CENV_SOURCE_DIR) + "/test/data/compose/";

struct Run {
  int rc = -1;
  std::string out, err;
};

Run convert(const ConvertFlags& flags) {
  std::ostringstream out, err;
  Run r;
  r.rc = run_convert(flags, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST_CASE("convert of the web db cache file reads .env and prints a YAML stream", "[convert]") {
  std::string file = kData + "web-db-cache/docker-compose.yml";
  Run r = convert({file, "", ""});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  auto docs = parse_manifest(r.out, "out");
  REQUIRE(docs.ok());
  REQUIRE(docs.value().size() == 4);
  CHECK(docs.value()[0].value.at("metadata").at("name") == "shop");
  const json::value& web = docs.value()[1].value;
  CHECK(web.at("spec").at("env").at(0) ==
        json::parse(R"({"name":"DATABASE_URL","value":"postgres://shop:s3cret@db:5432/shop"})"));
  CHECK(web.at("spec").at("env").at(2) == json::parse(R"({"name":"LOG_LEVEL","value":"debug"})"));
  CHECK(web.at("spec").at("dependsOn") == json::parse(R"(["db","cache"])"));
  const json::value& db = docs.value()[2].value;
  CHECK(db.at("spec").at("healthCheck").at("exec") ==
        json::parse(R"(["/bin/sh","-c","pg_isready -U shop -d shop"])"));
  CHECK(db.at("spec").at("volumes") ==
        json::parse(R"([{"name":"db-data","mountPath":"/var/lib/postgresql/data"}])"));
  CHECK_THAT(r.err, Catch::Contains("warning: " + file +
                                    ": service \"web\": restart: "
                                    "unless-stopped becomes restartPolicy Always"));
}

TEST_CASE("convert -o writes one file per object into the folder", "[convert]") {
  testing::TempDir dir("cenv-convert-out");
  std::string out = (dir.path() / "manifests").string();
  Run r = convert({kData + "dev-source/docker-compose.yml", out, "store"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(fs::exists(fs::path(out) / "store-environment.yaml"));
  CHECK(fs::exists(fs::path(out) / "app-service.yaml"));
  CHECK(fs::exists(fs::path(out) / "worker-service.yaml"));
  CHECK_THAT(r.out, Catch::Contains("app-service.yaml"));
  auto app = read_manifest_file((fs::path(out) / "app-service.yaml").string());
  REQUIRE(app.ok());
  const json::value& spec = app.value()[0].value.at("spec");
  CHECK(app.value()[0].value.at("metadata").at("namespace") == "store");
  CHECK(spec.at("command") == json::parse(R"(["/bin/sh"])"));
  CHECK(spec.at("env").at(0) == json::parse(R"({"name":"APP_MODE","value":"development"})"));
  CHECK(spec.at("env").at(1) ==
        json::parse(R"({"name":"QUEUE_URL","value":"amqp://guest:guest@queue:5672/"})"));
  CHECK(spec.at("volumes") == json::parse(R"([{"name":"uploads","mountPath":"/var/uploads"}])"));
  CHECK_THAT(r.err, Catch::Contains("service \"app\": bind mount \"./app:/src\" is not carried"));
  CHECK_THAT(r.err, Catch::Contains("service \"app\": build (context \"./app\")"));
  CHECK_THAT(r.err, Catch::Contains("service \"app\": working_dir is not carried over"));
}

TEST_CASE("convert of long-syntax ports and health checks", "[convert]") {
  Run r = convert({kData + "long-syntax/compose.yaml", "", ""});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  auto docs = parse_manifest(r.out, "out");
  REQUIRE(docs.ok());
  const json::value& proxy = docs.value()[1].value.at("spec");
  CHECK(proxy.at("ports") == json::parse(R"([
      {"containerPort":80,"hostPort":28481,"hostIP":"127.0.0.1","name":"http"},
      {"containerPort":9090,"hostPort":0,"protocol":"UDP"}])"));
  CHECK(proxy.at("healthCheck") == json::parse(R"({"exec":["wget","-q","-O","/dev/null",
      "http://127.0.0.1:80/"],"interval":"1s","timeout":"2s","startPeriod":"90s","retries":5})"));
  CHECK(proxy.at("restartPolicy") == "OnFailure");
  const json::value& api = docs.value()[2].value.at("spec");
  CHECK(api.at("healthCheck").at("timeout") == "1500ms");
  CHECK(api.at("restartPolicy") == "Never");
  CHECK(docs.value()[3].value.at("spec").as_object().contains("healthCheck") == false);
  CHECK_THAT(r.err, Catch::Contains("service \"api\": healthcheck.start_interval is not carried"));
}

TEST_CASE("convert of a bad file is one error naming the file and exit 1", "[convert]") {
  testing::TempDir dir("cenv-convert-bad");
  struct Row {
    std::string name;
    std::string text;
    std::string want;  // the start of the error line after the file name
  };
  const std::vector<Row> rows = {
      {"deep.yml",
       "services:\n  a:\n    image: x\n    labels: " + std::string(100, '[') +
           std::string(100, ']') + "\n",
       ": line 4 (services.a.labels): nesting is deeper than the limit of 64 levels"},
      {"deep-block.yml",
       "services:\n  a:\n    image: x\n    environment:\n" +
           [] {
             std::string text;
             for (int i = 0; i < 70; ++i)
               text += std::string(6 + 2 * i, ' ') + "k" + std::to_string(i) + ":\n";
             return text;
           }(),
       ": line 66 (services.a.environment.k0.k1.k2"},
      {"tab.yml", "services:\n  a:\n    image: [\n", ": line "},
      {"manifest.yml", "apiVersion: cenv.io/v1\nkind: Service\n", ": services: not a compose file"},
      {"two.yml", "services: {a: {image: x}}\n---\nservices: {}\n",
       ": document 2: a compose file is one YAML document"},
      {"badimage.yml", "services: {a: {image: \"Not An Image\"}}\n",
       ": the converted objects are invalid:\nService \"a\" in namespace \"compose\": spec.image"},
      {"big.yml", "services: {a: {image: x}}\n#" + std::string(17 << 20, 'x') + "\n", ": file is "},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    fs::path file = dir.path() / "compose" / row.name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << row.text;
    Run r = convert({file.string(), "", ""});
    CHECK(r.rc == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("error: " + file.string() + row.want));
  }
  Run missing = convert({(dir.path() / "nope.yml").string(), "", ""});
  CHECK(missing.rc == 1);
  CHECK_THAT(missing.err, Catch::Contains("nope.yml"));
}

}  // namespace
}  // namespace cenv::cli
