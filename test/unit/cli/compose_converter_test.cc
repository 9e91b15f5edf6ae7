// cenv convert: each compose key as the Service field it becomes, or the warning that says it is
// not carried over; bad compose files as one error naming the file and the key.

#include "cli/compose_converter.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "api/yaml_reader.h"
#include "test/temp_dir.h"

namespace cenv::cli {
namespace {

namespace json = boost::json;

Result<ComposeConversion> convert_text(const std::string& yaml,
                                       ComposeConvertOptions options = {}) {
  auto docs = parse_manifest(yaml, "compose.yml");
  REQUIRE(docs.ok());
  REQUIRE(docs.value().size() == 1);
  options.source = "compose.yml";
  return convert_compose(docs.value()[0].value, options);
}

ComposeConversion converted(const std::string& yaml, ComposeConvertOptions options = {}) {
  auto c = convert_text(yaml, std::move(options));
  INFO(c.status().message());
  REQUIRE(c.ok());
  return std::move(c.value());
}

std::string field(const ComposeConversion& c, const std::string& name, const std::string& key) {
  for (const auto& o : c.objects) {
    if (o.at("kind") == "Service" && o.at("metadata").at("name") == json::value(name)) {
      const json::value* v = o.at("spec").as_object().if_contains(key);
      return v ? json::serialize(*v) : "<absent>";
    }
  }
  FAIL("no Service " << name);
  return {};
}

std::string warnings(const ComposeConversion& c) {
  std::string out;
  for (const auto& w : c.warnings) out += w + "\n";
  return out;
}

TEST_CASE("convert writes an Environment then one Service per compose service", "[convert]") {
  auto c = converted(R"(
name: Shop_App
services:
  web: {image: nginx:1.25}
  db: {image: postgres:16}
)");
  REQUIRE(c.objects.size() == 3);
  CHECK(json::serialize(c.objects[0]) ==
        R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"shop-app"},)"
        R"("spec":{}})");
  CHECK(c.objects[1].at("metadata") == json::parse(R"({"name":"web","namespace":"shop-app"})"));
  CHECK(c.objects[2].at("metadata").at("name") == "db");
  CHECK(field(c, "web", "image") == R"("nginx:1.25")");
  CHECK(c.warnings.empty());

  ComposeConvertOptions named;
  named.environment = "staging";
  CHECK(converted("services: {web: {image: x}}", named).objects[0].at("metadata").at("name") ==
        "staging");
  ComposeConvertOptions project;
  project.project = "My Project";
  CHECK(converted("services: {web: {image: x}}", project).objects[0].at("metadata").at("name") ==
        "my-project");
}

TEST_CASE("convert maps command and entrypoint in list and string form", "[convert]") {
  auto c = converted(R"(
services:
  a: {image: x, command: ["npm", "start"], entrypoint: ["/bin/tini", "--"]}
  b: {image: x, command: "sh -c 'echo \"hi there\"' two\\ words"}
  c: {image: x, entrypoint: /docker-entrypoint.sh}
)");
  CHECK(field(c, "a", "command") == R"(["/bin/tini","--"])");
  CHECK(field(c, "a", "args") == R"(["npm","start"])");
  CHECK(field(c, "b", "args") == R"(["sh","-c","echo \"hi there\"","two words"])");
  CHECK(field(c, "b", "command") == "<absent>");
  CHECK(field(c, "c", "command") == R"(["/docker-entrypoint.sh"])");
}

TEST_CASE("convert maps environment in list and map form over env_file", "[convert]") {
  testing::TempDir dir("cenv-convert");
  std::ofstream(dir.path() / "app.env") << "# comment\nA=from-file\nexport B=\"two words\"\n"
                                           "C='lit $X'\nD=x # trailing\n";
  std::ofstream(dir.path() / "expand.env") << "URL=http://${FROM_SHELL}/${MISSING}\n";
  ComposeConvertOptions options;
  options.base_dir = dir.path().string();
  options.lookup = [](const std::string& n) -> std::optional<std::string> {
    if (n == "FROM_SHELL") return std::string("shell-value");
    return std::nullopt;
  };
  auto c = converted(R"(
services:
  list:
    image: x
    env_file: app.env
    environment: ["A=override", "E=1=2", "FROM_SHELL", "UNSET", "bad.name=1"]
  map:
    image: x
    env_file: [{path: app.env}, {path: missing.env, required: false}]
    environment: {PORT: 8080, DEBUG: true, RATIO: 0.5, EMPTY: "", FROM_SHELL: null}
)",
                     options);
  CHECK(field(c, "list", "env") ==
        R"([{"name":"A","value":"override"},{"name":"B","value":"two words"},)"
        R"({"name":"C","value":"lit $X"},{"name":"D","value":"x"},{"name":"E","value":"1=2"},)"
        R"({"name":"FROM_SHELL","value":"shell-value"}])");
  CHECK(field(c, "map", "env") ==
        R"([{"name":"A","value":"from-file"},{"name":"B","value":"two words"},)"
        R"({"name":"C","value":"lit $X"},{"name":"D","value":"x"},{"name":"PORT","value":"8080"},)"
        R"({"name":"DEBUG","value":"true"},{"name":"RATIO","value":"0.5"},)"
        R"({"name":"EMPTY","value":""},{"name":"FROM_SHELL","value":"shell-value"}])");
  std::string w = warnings(c);
  CHECK_THAT(w, Catch::Contains("service \"list\": environment variable UNSET has no value and is "
                                "not set in this shell: it is left out"));
  CHECK_THAT(w, Catch::Contains("service \"list\": environment variable \"bad.name\" is not "
                                "carried over: cenv variable names are C identifiers"));

  auto expanded = converted("services: {a: {image: x, env_file: expand.env}}", options);
  CHECK(field(expanded, "a", "env") == R"([{"name":"URL","value":"http://shell-value/"}])");
  CHECK_THAT(warnings(expanded), Catch::Contains("service \"a\": env_file expand.env: the "
                                                 "\"MISSING\" variable is not set"));

  auto missing = convert_text("services: {a: {image: x, env_file: nope.env}}", options);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Catch::StartsWith("compose.yml: services.a.env_file: ") &&
                                             Catch::Contains("nope.env: no such file"));
}

TEST_CASE("convert maps short and long port syntax and expose", "[convert]") {
  struct Row {
    std::string ports;  // the compose service's ports/expose, as YAML flow
    std::string want;   // spec.ports
  };
  const std::vector<Row> rows = {
      {R"(ports: ["8080:80"])", R"([{"containerPort":80,"hostPort":8080}])"},
      {R"(ports: ["80"])", R"([{"containerPort":80,"hostPort":0}])"},
      {R"(ports: [5432])", R"([{"containerPort":5432,"hostPort":0}])"},
      {R"(ports: ["127.0.0.1:8080:80"])",
       R"([{"containerPort":80,"hostPort":8080,"hostIP":"127.0.0.1"}])"},
      {R"(ports: ["127.0.0.1::80"])",
       R"([{"containerPort":80,"hostPort":0,"hostIP":"127.0.0.1"}])"},
      {R"(ports: ["[::1]:8080:80"])", R"([{"containerPort":80,"hostPort":8080,"hostIP":"::1"}])"},
      {R"(ports: ["53:53/udp"])", R"([{"containerPort":53,"hostPort":53,"protocol":"UDP"}])"},
      {R"(ports: ["9000-9001:8000-8001"])",
       R"([{"containerPort":8000,"hostPort":9000},{"containerPort":8001,"hostPort":9001}])"},
      {R"(ports: [{target: 80, published: "8080", host_ip: 127.0.0.1, protocol: tcp, mode: host, name: web}])",
       R"([{"containerPort":80,"hostPort":8080,"hostIP":"127.0.0.1","name":"web"}])"},
      {R"(ports: [{target: 53, published: 5353, protocol: udp}])",
       R"([{"containerPort":53,"hostPort":5353,"protocol":"UDP"}])"},
      {R"(ports: [{target: 80}])", R"([{"containerPort":80,"hostPort":0}])"},
      {R"(expose: ["3000", 4000, "5000-5001/udp"])",
       R"([{"containerPort":3000},{"containerPort":4000},)"
       R"({"containerPort":5000,"protocol":"UDP"},{"containerPort":5001,"protocol":"UDP"}])"},
  };
  for (const Row& row : rows) {
    INFO(row.ports);
    auto c = converted("services:\n  a: {image: x, " + row.ports + "}\n");
    CHECK(field(c, "a", "ports") == row.want);
  }
  auto dup = converted(R"(services: {a: {image: x, ports: ["8080:80", "8081:80"]}})");
  CHECK(field(dup, "a", "ports") == R"([{"containerPort":80,"hostPort":8080}])");
  CHECK_THAT(warnings(dup), Catch::Contains("ports[1]: container port 80/TCP is already listed"));
  auto extra = converted(R"(services: {a: {image: x, ports: [{target: 80, app_protocol: http}]}})");
  CHECK_THAT(warnings(extra),
             Catch::Contains("service \"a\": ports[0].app_protocol is not carried over"));
}

TEST_CASE("convert keeps named volumes and warns about bind mounts and the rest", "[convert]") {
  auto c = converted(R"(
services:
  a:
    image: x
    volumes:
      - db_data:/var/lib/data
      - ./src:/src
      - /etc/localtime:/etc/localtime:ro
      - /scratch
      - shared:/shared:ro
      - {type: volume, source: logs, target: /logs, volume: {nocopy: true}}
      - {type: bind, source: ./conf, target: /conf}
      - {type: tmpfs, target: /tmp}
  b: {image: x, volumes: ["shared:/data"]}
volumes:
  db_data: {}
  shared: {external: true}
  logs:
)");
  CHECK(
      field(c, "a", "volumes") ==
      R"([{"name":"db-data","mountPath":"/var/lib/data"},{"name":"shared","mountPath":"/shared"},)"
      R"({"name":"logs","mountPath":"/logs"}])");
  std::string w = warnings(c);
  CHECK_THAT(w, Catch::Contains("bind mount \"./src:/src\" is not carried over"));
  CHECK_THAT(w, Catch::Contains("bind mount \"/etc/localtime:/etc/localtime\" is not carried"));
  CHECK_THAT(w, Catch::Contains("anonymous volume \"/scratch\" is not carried over"));
  CHECK_THAT(w, Catch::Contains("bind mount \"./conf:/conf\" is not carried over"));
  CHECK_THAT(w, Catch::Contains("tmpfs mount \"/tmp\" is not carried over"));
  CHECK_THAT(w, Catch::Contains("volume \"shared:/shared\" is mounted read-write"));
  CHECK_THAT(w, Catch::Contains("volumes[5].volume is not carried over"));
  CHECK_THAT(w, Catch::Contains("volume \"shared\" is shared by services a, b: each Service gets "
                                "a volume of its own"));
  CHECK_THAT(w, Catch::Contains("volumes.shared: its options (driver, external, name, ...) are "
                                "not carried over"));
  CHECK_THAT(w, !Catch::Contains("volumes.db_data"));
}

TEST_CASE("convert maps depends_on in list and long form and links", "[convert]") {
  auto c = converted(R"(
services:
  web:
    image: x
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started, restart: true}
      migrate: {condition: service_completed_successfully}
  worker: {image: x, depends_on: [db, cache], links: ["db:database"]}
  db: {image: x, healthcheck: {test: ["CMD", "true"]}}
  cache: {image: x}
  migrate: {image: x}
)");
  CHECK(field(c, "web", "dependsOn") == R"(["db","cache"])");
  CHECK(field(c, "worker", "dependsOn") == R"(["db","cache"])");
  std::string w = warnings(c);
  CHECK_THAT(w, Catch::Contains("service \"web\": depends_on.cache.restart is not carried over"));
  CHECK_THAT(w, Catch::Contains("depends_on.migrate: condition service_completed_successfully is "
                                "not carried over"));
  CHECK_THAT(w, Catch::Contains("service \"worker\": depends_on db: cenv waits until db is Ready"));
  CHECK_THAT(w, !Catch::Contains("depends_on cache"));
  CHECK_THAT(w, Catch::Contains("links \"db:database\": the alias is not carried over"));

  auto unknown = convert_text("services: {a: {image: x, depends_on: [nope]}}");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() ==
        "compose.yml: services.a.depends_on[0]: no service named \"nope\"");
}

TEST_CASE("convert maps healthcheck test forms and durations", "[convert]") {
  struct Row {
    std::string healthcheck;
    std::string want;  // spec.healthCheck
  };
  const std::vector<Row> rows = {
      {R"({test: ["CMD", "curl", "-f", "http://localhost"], interval: 1m30s, timeout: 10s, retries: 5, start_period: 40s})",
       R"({"exec":["curl","-f","http://localhost"],"interval":"90s","timeout":"10s",)"
       R"("startPeriod":"40s","retries":5})"},
      {R"({test: ["CMD-SHELL", "pg_isready || exit 1"], interval: 500ms, timeout: 1.5s})",
       R"({"exec":["/bin/sh","-c","pg_isready || exit 1"],"interval":"500ms",)"
       R"("timeout":"1500ms","startPeriod":"0s","retries":3})"},
      {R"({test: "redis-cli ping", interval: 2h})",
       R"({"exec":["/bin/sh","-c","redis-cli ping"],"interval":"2h","timeout":"30s",)"
       R"("startPeriod":"0s","retries":3})"},
      {R"({test: ["NONE"]})", "<absent>"},
      {R"({test: ["CMD", "true"], disable: true})", "<absent>"},
  };
  for (const Row& row : rows) {
    INFO(row.healthcheck);
    auto c = converted("services:\n  a: {image: x, healthcheck: " + row.healthcheck + "}\n");
    CHECK(field(c, "a", "healthCheck") == row.want);
  }
  auto c = converted(R"(services: {a: {image: x, healthcheck: {test: [CMD, "true"], retries: 0,
                                                              start_interval: 1s}}})");
  CHECK_THAT(warnings(c), Catch::Contains("healthcheck.retries 0 becomes 1"));
  CHECK_THAT(warnings(c), Catch::Contains("healthcheck.start_interval is not carried over"));
  auto bad = convert_text(R"(services: {a: {image: x, healthcheck: {test: [CMD, "true"],
                                                                    interval: soon}}})");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith("compose.yml: services.a.healthcheck."
                                                       "interval: must be a duration"));
}

TEST_CASE("convert maps restart to the closest restartPolicy", "[convert]") {
  struct Row {
    std::string restart;  // empty: no restart key
    std::string policy;
    std::string warning;  // expected substring, empty: no warning
  };
  const std::vector<Row> rows = {
      {"", "Never", ""},
      {"\"no\"", "Never", ""},
      {"always", "Always", ""},
      {"on-failure", "OnFailure", ""},
      {"on-failure:5", "OnFailure", "the most restarts is not carried over"},
      {"unless-stopped", "Always", "restart: unless-stopped becomes restartPolicy Always"},
  };
  for (const Row& row : rows) {
    INFO(row.restart);
    auto c = converted("services:\n  a: {image: x" +
                       (row.restart.empty() ? "" : ", restart: " + row.restart) + "}\n");
    CHECK(field(c, "a", "restartPolicy") == "\"" + row.policy + "\"");
    if (row.warning.empty()) {
      CHECK(c.warnings.empty());
    } else {
      CHECK_THAT(warnings(c), Catch::Contains(row.warning));
    }
  }
}

TEST_CASE("convert turns labels into Service labels or annotations with a warning", "[convert]") {
  auto c = converted(R"(
services:
  a: {image: x, labels: {com.example.team: web, com.example.note: "two words"}}
  b: {image: x, labels: ["tier=backend"]}
)");
  CHECK(json::serialize(c.objects[1].at("metadata")) ==
        R"({"name":"a","namespace":"compose","labels":{"com.example.team":"web"},)"
        R"("annotations":{"com.example.note":"two words"}})");
  CHECK(c.objects[2].at("metadata").at("labels") == json::parse(R"({"tier":"backend"})"));
  CHECK_THAT(warnings(c), Catch::Contains("service \"b\": labels label the Service object"));
}

TEST_CASE("convert warns about build and every key it does not carry over", "[convert]") {
  auto c = converted(R"(
name: proj
services:
  app:
    build: {context: ./app, dockerfile: Dockerfile.dev}
    working_dir: /src
    container_name: my-app
    user: "1000"
    privileged: true
    networks: [backend]
    x-custom: ignored
  tagged: {build: ., image: registry:5000/team/app:1.0}
  plain: {image: x, networks: [default]}
networks: {backend: {}}
secrets: {token: {file: ./token}}
x-defaults: &defaults {restart: always}
version: "3.9"
)");
  CHECK(field(c, "app", "image") == R"("proj-app")");
  CHECK(field(c, "tagged", "image") == R"("registry:5000/team/app:1.0")");
  std::string w = warnings(c);
  CHECK_THAT(w, Catch::Contains("service \"app\": build (context \"./app\") is not carried over: "
                                "cenv builds images only from Modules"));
  CHECK_THAT(w, Catch::Contains("the Service runs image \"proj-app\""));
  CHECK_THAT(w, Catch::Contains("service \"app\": working_dir is not carried over"));
  CHECK_THAT(w, Catch::Contains("service \"app\": container_name is not carried over"));
  CHECK_THAT(w, Catch::Contains("service \"app\": user is not carried over"));
  CHECK_THAT(w, Catch::Contains("service \"app\": privileged is not carried over"));
  CHECK_THAT(w, Catch::Contains("service \"app\": networks are not carried over"));
  CHECK_THAT(w, Catch::Contains("networks are not carried over: the Environment has one network"));
  CHECK_THAT(w, Catch::Contains("secrets (top level) is not carried over"));
  CHECK_THAT(w, !Catch::Contains("x-custom"));
  CHECK_THAT(w, !Catch::Contains("x-defaults"));
  CHECK_THAT(w, !Catch::Contains("version"));
  CHECK_THAT(w, !Catch::Contains("service \"plain\""));
}

TEST_CASE("convert renames services to DNS labels and says so", "[convert]") {
  auto c = converted(R"(services: {My_DB: {image: x}, web: {image: x, depends_on: [My_DB]}})");
  CHECK(c.objects[1].at("metadata").at("name") == "my-db");
  CHECK(field(c, "web", "dependsOn") == R"(["my-db"])");
  CHECK_THAT(warnings(c), Catch::Contains("service \"My_DB\": becomes Service \"my-db\" (a "
                                          "DNS-1123 label): other containers reach it as my-db"));
  auto clash = convert_text("services: {a_b: {image: x}, a-b: {image: x}}");
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.status().message() ==
        "compose.yml: services.a-b: becomes Service \"a-b\", as services.a_b does");
}

TEST_CASE("convert refuses what is not a compose file naming the file and the key", "[convert]") {
  struct Row {
    std::string yaml;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"[1, 2]", "compose.yml: not a compose file: expected a map with a services key"},
      {"apiVersion: cenv.io/v1\nkind: Service",
       "compose.yml: services: not a compose file: it needs a services map (service name: "
       "{image, ...})"},
      {"services: [web]",
       "compose.yml: services: not a compose file: it needs a services map (service name: "
       "{image, ...})"},
      {"services: {web: nginx}", "compose.yml: services.web: must be a map"},
      {"services: {web: {command: [x]}}", "compose.yml: services.web: needs an image (or build)"},
      {"services: {web: {image: x, ports: [\"http\"]}}",
       "compose.yml: services.web.ports[0]: \"http\" is not a port or a port range (1-65535, such "
       "as 8080 or 8000-8010)"},
      {"services: {web: {image: x, ports: [\"1:2:3:4\"]}}",
       "compose.yml: services.web.ports[0]: \"1:2:3:4\" is not a port mapping "
       "([IP:][HOST:]CONTAINER[/PROTOCOL])"},
      {"services: {web: {image: x, restart: sometimes}}",
       "compose.yml: services.web.restart: must be no, always, on-failure[:N] or unless-stopped"},
      {"services: {web: {image: x, environment: {A: {b: c}}}}",
       "compose.yml: services.web.environment.A: must be a string, number or boolean"},
      {"services: {web: {image: x, volumes: [\"data:relative\"]}}",
       "compose.yml: services.web.volumes[0]: \"data:relative\" is not a volume: the target must "
       "be an absolute path"},
      {"services: {web: {image: x, command: \"echo 'open\"}}",
       "compose.yml: services.web.command: a ' quote is not closed"},
  };
  for (const Row& row : rows) {
    INFO(row.yaml);
    auto c = convert_text(row.yaml);
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == Code::kInvalid);
    CHECK(c.status().message() == row.want);
  }
}

}  // namespace
}  // namespace cenv::cli
