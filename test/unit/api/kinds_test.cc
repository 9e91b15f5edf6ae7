#include "api/kinds.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace cenv {
namespace {

namespace json = boost::json;

std::shared_ptr<const KindRegistry> registry() {
  auto r = KindRegistry::builtin();
  REQUIRE(r.ok());
  return *r;
}

Object object(const std::string& text) {
  auto o = Object::from_json(text);
  REQUIRE(o.ok());
  return *o;
}

std::string field_errors(const Status& s) {
  std::string out;
  for (const FieldError& f : s.fields()) out += f.path + ": " + f.message + "\n";
  return out;
}

// The JSON text of the value at `path` (keys, or indexes into arrays), "<absent>" if none.
std::string field(const Object& o, std::initializer_list<std::string_view> path) {
  json::value root(o.json());
  const json::value* v = &root;
  for (std::string_view p : path) {
    if (v->is_object()) {
      v = v->get_object().if_contains(p);
    } else if (v->is_array()) {
      size_t i = std::stoul(std::string(p));
      v = i < v->get_array().size() ? &v->get_array()[i] : nullptr;
    } else {
      v = nullptr;
    }
    if (!v) return "<absent>";
  }
  return json::serialize(*v);
}

std::string to_upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST_CASE("builtin registry loads every kind with its names and scope", "[kinds]") {
  struct Row {
    std::string kind, plural, singular, short_name;
    bool namespaced;
  };
  auto row = GENERATE(values<Row>({
      {"Environment", "environments", "environment", "env", false},
      {"Module", "modules", "module", "mod", true},
      {"Service", "services", "service", "svc", true},
      {"CommandRun", "commandruns", "commandrun", "cr", true},
      {"Event", "events", "event", "ev", true},
      {"RoleBinding", "rolebindings", "rolebinding", "rb", true},
      {"ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", "crb", false},
  }));
  CAPTURE(row.kind);
  auto reg = registry();
  REQUIRE(reg->kinds().size() == 7);
  for (const std::string& name : {row.kind, row.plural, row.singular, row.short_name,
                                  to_upper(row.short_name), std::string(lower_kind(row.kind))}) {
    CAPTURE(name);
    const KindInfo* k = reg->find(name);
    REQUIRE(k != nullptr);
    CHECK(k->kind == row.kind);
    CHECK(k->plural == row.plural);
    CHECK(k->singular == row.singular);
    CHECK(k->short_names == std::vector<std::string>{row.short_name});
    CHECK(k->namespaced == row.namespaced);
    CHECK(k->schema.contains("properties"));
  }
}

TEST_CASE("find returns nullptr for unknown names", "[kinds]") {
  auto reg = registry();
  CHECK(reg->find("pod") == nullptr);
  CHECK(reg->find("") == nullptr);
  CHECK(reg->find("servicess") == nullptr);
}

TEST_CASE("printer columns come from the CRDs", "[kinds]") {
  auto reg = registry();
  const KindInfo* svc = reg->find("svc");
  REQUIRE(svc);
  REQUIRE(svc->columns.size() == 11);
  CHECK(svc->columns[0].name == "Image");
  CHECK(svc->columns[0].priority == 1);
  CHECK(svc->columns[2].name == "Ready");
  CHECK(svc->columns[3].name == "Health");
  CHECK(svc->columns[3].json_path == R"(.status.conditions[?(@.type=="Healthy")].status)");
  CHECK(svc->columns[4].type == "integer");
  CHECK(svc->columns[5].json_path == ".status.endpoints[*]");
  CHECK(svc->columns[8].name == "Replicas");
  CHECK(svc->columns[8].priority == 1);
  CHECK(svc->columns[10].json_path == ".status.nodes[*]");
  const KindInfo* cr = reg->find("cr");
  REQUIRE(cr);
  REQUIRE(cr->columns.size() == 3);
  CHECK(cr->columns[1].json_path == ".status.exitCode");
  CHECK(cr->columns[2].name == "Attempts");
  CHECK(cr->columns[2].priority == 0);
}

TEST_CASE("every schema field has a description", "[kinds]") {
  auto reg = registry();
  // Walks properties/items/additionalProperties; metadata is deliberately undescribed.
  std::vector<std::string> missing;
  std::function<void(const json::object&, const std::string&)> walk = [&](const json::object& s,
                                                                          const std::string& path) {
    if (path != "metadata" && !s.contains("description") && path.find("[]") == std::string::npos) {
      missing.push_back(path);
    }
    if (auto* p = s.if_contains("properties")) {
      for (const auto& kv : p->get_object()) {
        walk(kv.value().get_object(), (path.empty() ? "" : path + ".") + std::string(kv.key()));
      }
    }
    if (auto* i = s.if_contains("items"); i && i->is_object()) walk(i->get_object(), path + "[]");
    if (auto* a = s.if_contains("additionalProperties"); a && a->is_object()) {
      walk(a->get_object(), path + "{}");
    }
  };
  for (const KindInfo& k : reg->kinds()) {
    CAPTURE(k.kind);
    missing.clear();
    walk(k.schema, "");
    CHECK(missing.empty());
    for (const std::string& m : missing) FAIL_CHECK("no description: " << m);
  }
}

TEST_CASE("valid minimal objects of each kind pass", "[kinds]") {
  auto
      text =
          GENERATE(as<std::string>{},
                   R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},"spec":{}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},"spec":{"baseImage":"reg.example:5000/team/base:1","secrets":{"reg":"u:p"},"registry":{"server":"reg.example:5000","credentialsSecret":"reg","push":true}},"status":{"pushedImage":"reg.example:5000/cenv-runtime/dev:0123456789ab"}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"py"},"spec":{"source":{"path":"modules/py"}}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"py"},"spec":{"requires":{"apt":["python3","git=1:2.39"],"pip":["requests>=2,<3","numpy==1.26.4","uvicorn[standard]"]},"install":"pip install -e ."}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"py"},"spec":{"source":{"git":{"url":"https://example.com/m.git"}}}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web","namespace":"dev"},"spec":{}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"CommandRun","metadata":{"name":"t"},"spec":{"command":["make","test"]}})", R"({"apiVersion":"cenv.io/v1","kind":"CommandRun","metadata":{"name":"t"},"spec":{"module":"py","moduleCommand":"test","args":["-v"],"service":"web"}})", R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},"spec":{"baseImage":"registry.local:5000/cenv/base:bookworm","variables":{"LANG":"C.UTF-8"},"secrets":{"DB_PASSWORD":"x"},"network":"dev-net","source":{"git":{"url":"git@github.com:me/env.git","ref":"v1.2"},"path":"manifests","interval":"1m30s","prune":true}},"status":{"phase":"Ready","image":"cenv/rt:abc","modules":["py@abc"],"observedGeneration":3,"conditions":[{"type":"Ready","status":"True","reason":"Built","message":"ok","lastTransitionTime":"2024-05-01T12:00:00Z","observedGeneration":3}]}})", R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"db"},"spec":{"image":"postgres:16","command":["postgres"],"args":["-c","fsync=off"],"env":[{"name":"PGDATA","value":"/data"}],"secretEnv":[{"name":"POSTGRES_PASSWORD","secretKey":"DB_PASSWORD"}],"ports":[{"containerPort":5432,"hostPort":0,"hostIP":"127.0.0.1","protocol":"TCP","name":"pg"}],"volumes":[{"name":"data","mountPath":"/data"}],"healthCheck":{"exec":["pg_isready"],"interval":"2s","retries":10},"restartPolicy":"OnFailure","dependsOn":["cache"]},"status":{"phase":"Running","containerID":"abc","restarts":0,"endpoints":["127.0.0.1:5432/tcp"]}})",
                   R"({"apiVersion":"cenv.io/v1","kind":"CommandRun","metadata":{"name":"t"},"spec":{"command":["true"],"workingDir":"/src","timeoutSeconds":604800,"backoffLimit":100,"ttlSecondsAfterFinished":0},"status":{"phase":"Succeeded","attempts":1,"exitCode":0,"startTime":"2024-02-29T23:59:60.123+01:00","completionTime":"2024-03-01T00:00:00z","logBytes":12}})");
  CAPTURE(text);
  auto reg = registry();
  Object o = object(text);
  Status s = reg->default_and_validate(o);
  INFO(s.to_string());
  CHECK(s.ok());
}

TEST_CASE("defaults are applied where their parent exists", "[kinds]") {
  auto reg = registry();

  SECTION("Service: protocol and restartPolicy; no healthCheck invented") {
    Object o = object(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},
                          "spec":{"ports":[{"containerPort":80},{"containerPort":53,"protocol":"UDP"}]}})");
    REQUIRE(reg->default_and_validate(o).ok());
    CHECK(field(o, {"spec", "ports", "0", "protocol"}) == R"("TCP")");
    CHECK(field(o, {"spec", "ports", "1", "protocol"}) == R"("UDP")");
    CHECK(field(o, {"spec", "restartPolicy"}) == R"("Always")");
    CHECK(field(o, {"spec", "healthCheck"}) == "<absent>");
    CHECK(field(o, {"status"}) == "<absent>");
  }
  SECTION("Service: healthCheck defaults when healthCheck is present") {
    Object o = object(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},
                          "spec":{"healthCheck":{"tcpPort":80,"retries":5}}})");
    REQUIRE(reg->default_and_validate(o).ok());
    CHECK(field(o, {"spec", "healthCheck", "interval"}) == R"("10s")");
    CHECK(field(o, {"spec", "healthCheck", "timeout"}) == R"("5s")");
    CHECK(field(o, {"spec", "healthCheck", "startPeriod"}) == R"("0s")");
    CHECK(field(o, {"spec", "healthCheck", "retries"}) == "5");
  }
  SECTION("Environment: baseImage; source defaults only with a source") {
    Object o = object(
        R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},"spec":{}})");
    REQUIRE(reg->default_and_validate(o).ok());
    CHECK(field(o, {"spec", "baseImage"}) == R"("cenv/base:bookworm")");
    CHECK(field(o, {"spec", "source"}) == "<absent>");
    CHECK(field(o, {"spec", "network"}) == "<absent>");

    Object g = object(R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},
                          "spec":{"baseImage":"debian:12","source":{"git":{"url":"https://x/y.git"}}}})");
    REQUIRE(reg->default_and_validate(g).ok());
    CHECK(field(g, {"spec", "baseImage"}) == R"("debian:12")");
    CHECK(field(g, {"spec", "source", "git", "ref"}) == R"("main")");
    CHECK(field(g, {"spec", "source", "interval"}) == R"("1m")");
    CHECK(field(g, {"spec", "source", "prune"}) == "true");
  }
  SECTION("CommandRun: backoffLimit") {
    Object o = object(
        R"({"apiVersion":"cenv.io/v1","kind":"CommandRun","metadata":{"name":"t"},"spec":{"command":["ls"]}})");
    REQUIRE(reg->default_and_validate(o).ok());
    CHECK(field(o, {"spec", "backoffLimit"}) == "0");
    CHECK(field(o, {"spec", "timeoutSeconds"}) == "<absent>");
  }
  SECTION("Module: defaults inside map values (services) and git source") {
    Object o = object(R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"m"},
                          "spec":{"source":{"git":{"url":"https://x/y.git"}},
                                  "services":{"db":{"image":"postgres:16","ports":[{"containerPort":5432}]}}}})");
    Status s = reg->default_and_validate(o);
    INFO(s.to_string());
    REQUIRE(s.ok());
    CHECK(field(o, {"spec", "source", "git", "ref"}) == R"("main")");
    CHECK(field(o, {"spec", "services", "db", "restartPolicy"}) == R"("Always")");
    CHECK(field(o, {"spec", "services", "db", "ports", "0", "protocol"}) == R"("TCP")");
  }
  SECTION("null fields count as absent and are dropped, then defaulted") {
    Object o = object(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},
                          "spec":{"image":null,"env":null,"restartPolicy":null,"ports":[{"containerPort":80,"protocol":null}]},
                          "status":null})");
    Status s = reg->default_and_validate(o);
    INFO(s.to_string());
    REQUIRE(s.ok());
    CHECK(field(o, {"spec"}) ==
          R"({"ports":[{"containerPort":80,"protocol":"TCP"}],"restartPolicy":"Always"})");
    CHECK(field(o, {"status"}) == "<absent>");
  }
  SECTION("defaulting twice changes nothing") {
    Object o = object(
        R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"containerPort":80}]}})");
    REQUIRE(reg->default_and_validate(o).ok());
    Object again = o;
    REQUIRE(reg->default_and_validate(again).ok());
    CHECK(again == o);
  }
}

struct InvalidRow {
  std::string name;
  std::string json;
  std::vector<FieldError> expected;
};

TEST_CASE("invalid objects report Kubernetes-style field errors", "[kinds]") {
  const std::string svc =
      R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":)";
  const std::string env =
      R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},"spec":)";
  const std::string cr =
      R"({"apiVersion":"cenv.io/v1","kind":"CommandRun","metadata":{"name":"t"},"spec":)";
  const std::string mod =
      R"({"apiVersion":"cenv.io/v1","kind":"Module","metadata":{"name":"m"},"spec":)";
  auto row = GENERATE_COPY(values<InvalidRow>({
      {"port above maximum",
       svc + R"({"ports":[{"containerPort":70000}]}})",
       {{"spec.ports[0].containerPort", "must be between 1 and 65535"}}},
      {"port below minimum",
       svc + R"({"ports":[{"containerPort":80},{"containerPort":0}]}})",
       {{"spec.ports[1].containerPort", "must be between 1 and 65535"}}},
      {"missing required item field",
       svc + R"({"ports":[{"hostPort":80}]}})",
       {{"spec.ports[0].containerPort", "Required value"}}},
      {"unknown field", svc + R"({"imagee":"x"}})", {{"spec.imagee", "unknown field"}}},
      {"unknown fields all reported",
       svc + R"({"b":1,"a":2,"ports":[{"containerPort":1,"port":2}]}})",
       {{"spec.a", "unknown field"},
        {"spec.b", "unknown field"},
        {"spec.ports[0].port", "unknown field"}}},
      {"unknown top-level field",
       R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":{},"extra":1})",
       {{"extra", "unknown field"}}},
      {"wrong type",
       svc + R"({"ports":[{"containerPort":"80"}]}})",
       {{"spec.ports[0].containerPort", "Invalid value: \"string\": expected integer"}}},
      {"wrong type of spec",
       R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":[]})",
       {{"spec", "Invalid value: \"array\": expected object"}}},
      {"integer above int64",
       svc + R"({"ports":[{"containerPort":18446744073709551615}]}})",
       {{"spec.ports[0].containerPort",
         "Invalid value: 18446744073709551615: must be less than or equal to "
         "9223372036854775807"}}},
      {"float for integer",
       cr + R"({"command":["x"],"timeoutSeconds":1.5}})",
       {{"spec.timeoutSeconds", "Invalid value: \"number\": expected integer"}}},
      {"bad enum",
       svc + R"({"restartPolicy":"Sometimes"}})",
       {{"spec.restartPolicy",
         "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", "
         "\"Never\""}}},
      {"bad enum in item",
       svc + R"({"ports":[{"containerPort":80,"protocol":"SCTP"}]}})",
       {{"spec.ports[0].protocol",
         "Unsupported value: \"SCTP\": supported values: \"TCP\", \"UDP\""}}},
      {"missing spec",
       R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"}})",
       {{"spec", "Required value"}}},
      {"wrong apiVersion",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{}})",
       {{"apiVersion", "Unsupported value: \"v1\": supported values: \"cenv.io/v1\""}}},
      {"missing apiVersion",
       R"({"kind":"Service","metadata":{"name":"web"},"spec":{}})",
       {{"apiVersion", "Required value"}}},
      {"unknown kind",
       R"({"apiVersion":"cenv.io/v1","kind":"Pod","metadata":{"name":"p"},"spec":{}})",
       {{"kind",
         "Unsupported value: \"Pod\": supported values: \"ClusterRoleBinding\", "
         "\"CommandRun\", \"Environment\", \"Event\", \"Module\", \"RoleBinding\", "
         "\"Service\""}}},
      {"kind must be exact",
       R"({"apiVersion":"cenv.io/v1","kind":"svc","metadata":{"name":"p"},"spec":{}})",
       {{"kind",
         "Unsupported value: \"svc\": supported values: \"ClusterRoleBinding\", "
         "\"CommandRun\", \"Environment\", \"Event\", \"Module\", \"RoleBinding\", "
         "\"Service\""}}},
      {"missing kind",
       R"({"apiVersion":"cenv.io/v1","metadata":{"name":"p"},"spec":{}})",
       {{"kind", "Required value"}}},
      {"pattern with message",
       svc + R"({"volumes":[{"name":"data","mountPath":"data"}]}})",
       {{"spec.volumes[0].mountPath", "Invalid value: \"data\": must be an absolute path"}}},
      {"env name pattern",
       svc + R"({"env":[{"name":"1X","value":"v"}]}})",
       {{"spec.env[0].name",
         "Invalid value: \"1X\": must be a C identifier (letters, digits and '_', not starting "
         "with a digit)"}}},
      {"duration pattern",
       svc + R"({"healthCheck":{"tcpPort":80,"interval":"10"}}})",
       {{"spec.healthCheck.interval",
         "Invalid value: \"10\": must be a duration such as 500ms, 10s, 1m30s or 2h"}}},
      {"image reference",
       env + R"({"baseImage":"Not An Image"}})",
       {{"spec.baseImage",
         "Invalid value: \"Not An Image\": must be an image reference such as \"name:tag\" or "
         "\"registry:5000/repo/name@sha256:...\""}}},
      {"maxLength",
       env + R"({"network":")" + std::string(64, 'a') + R"("}})",
       {{"spec.network", "must have at most 63 characters"}}},
      {"maxItems",
       svc + R"({"dependsOn":[)" +
           [] {
             std::string s;
             for (int i = 0; i < 65; ++i) s += (i ? ",\"a\"" : "\"a\"");
             return s;
           }() +
           "]}}",
       {{"spec.dependsOn", "must have at most 64 items"}}},
      {"minItems", cr + R"({"command":[]}})", {{"spec.command", "must have at least 1 items"}}},
      {"maxProperties",
       env + R"({"variables":{)" +
           [] {
             std::string s;
             for (int i = 0; i < 257; ++i)
               s += (i ? "," : "") + ("\"V" + std::to_string(i) + "\":\"x\"");
             return s;
           }() +
           "}}}",
       {{"spec.variables", "must have at most 256 entries"}}},
      {"map key pattern",
       env + R"({"variables":{"my.key":"v","OK":"v"}}})",
       {{"spec.variables[my.key]",
         "Invalid value: \"my.key\": must be a C identifier (letters, digits and '_', not starting "
         "with a digit)"}}},
      {"map value type",
       env + R"({"variables":{"PORT":8080}}})",
       {{"spec.variables.PORT", "Invalid value: \"integer\": expected string"}}},
      {"only lower bound",
       cr + R"({"command":["x"],"ttlSecondsAfterFinished":-1}})",
       {{"spec.ttlSecondsAfterFinished", "must be greater than or equal to 0"}}},
      {"date-time format",
       cr + R"({"command":["x"]},"status":{"startTime":"yesterday"}})",
       {{"status.startTime", "Invalid value: \"yesterday\": must be an RFC 3339 date-time"}}},
      {"impossible date",
       cr + R"({"command":["x"]},"status":{"startTime":"2023-02-29T00:00:00Z"}})",
       {{"status.startTime",
         "Invalid value: \"2023-02-29T00:00:00Z\": must be an RFC 3339 date-time"}}},
      {"condition status enum and required type",
       svc + R"({},"status":{"conditions":[{"status":"Yes"}]}})",
       {{"status.conditions[0].status",
         "Unsupported value: \"Yes\": supported values: \"True\", \"False\", \"Unknown\""},
        {"status.conditions[0].type", "Required value"}}},
      {"command and module together",
       cr + R"({"command":["x"],"module":"m","moduleCommand":"c"}})",
       {{"spec", "Forbidden: command and module may not be set together"}}},
      {"neither command nor module",
       cr + R"({"args":["x"]}})",
       {{"spec", "Required value: one of command or module must be set"}}},
      {"module without moduleCommand",
       cr + R"({"module":"m"}})",
       {{"spec.moduleCommand", "Required value: required when module is set"}}},
      {"image and service together",
       cr + R"({"command":["x"],"image":"alpine","service":"web"}})",
       {{"spec", "Forbidden: image and service may not be set together"}}},
      {"module source and inline install",
       mod + R"({"source":{"path":"m"},"install":"make"}})",
       {{"spec", "Forbidden: source and install may not be set together"}}},
      {"module source needs path or git",
       mod + R"({"source":{}}})",
       {{"spec.source", "Required value: one of path or git must be set"}}},
      {"healthCheck exec and tcpPort",
       svc + R"({"healthCheck":{"exec":["true"],"tcpPort":80}}})",
       {{"spec.healthCheck", "Forbidden: exec and tcpPort may not be set together"}}},
      {"module service spec validated",
       mod + R"({"services":{"db":{"ports":[{"containerPort":99999}]}}}})",
       {{"spec.services.db.ports[0].containerPort", "must be between 1 and 65535"}}},
      {"module command map",
       mod + R"({"commands":{"test":{"description":"x"},"bad name":{"command":["x"]}}}})",
       {{"spec.commands.test.command", "Required value"},
        {"spec.commands[bad name]",
         "Invalid value: \"bad name\": must be letters, digits, '-', '_' and '.', starting and "
         "ending with a letter or digit"}}},
      {"git url required",
       env + R"({"source":{"git":{}}}})",
       {{"spec.source.git.url", "Required value"}}},
      {"apt package injection",
       mod + R"({"requires":{"apt":["curl; rm -rf /"]}}})",
       {{"spec.requires.apt[0]",
         "Invalid value: \"curl; rm -rf /\": must be a Debian package name, optionally with "
         "=version"}}},
      {"git ref must not look like an option",
       env + R"({"source":{"git":{"url":"https://x/y","ref":"--upload-pack=x"}}}})",
       {{"spec.source.git.ref",
         "Invalid value: \"--upload-pack=x\": must be a branch, tag or commit name (letters, "
         "digits, '.', '_', '/', '-'; not starting with '-', '.' or '/')"}}},
      {"null item is not a string",
       cr + R"({"command":["x",null]}})",
       {{"spec.command[1]", "Invalid value: \"null\": expected string"}}},
      {"null map value is not a string",
       env + R"({"variables":{"A":null}}})",
       {{"spec.variables.A", "Invalid value: \"null\": expected string"}}},
      {"registry server with a scheme",
       env +
           R"({"secrets":{"reg":"u:p"},"registry":{"server":"https://reg.example","credentialsSecret":"reg"}}})",
       {{"spec.registry.server",
         "Invalid value: \"https://reg.example\": must be a registry host with an optional "
         "port, such as registry.example.com or 127.0.0.1:5000 (no scheme, user or path)"}}},
      {"registry credentials naming a missing secret",
       env +
           R"({"secrets":{"other":"u:p"},"registry":{"server":"127.0.0.1:5000","credentialsSecret":"reg"}}})",
       {{"spec.registry.credentialsSecret",
         "Invalid value: \"reg\": must name a key of spec.secrets"}}},
      {"registry credentials without any secrets",
       env + R"({"registry":{"server":"127.0.0.1:5000","credentialsSecret":"reg","push":true}}})",
       {{"spec.registry.credentialsSecret",
         "Invalid value: \"reg\": must name a key of spec.secrets"}}},
      {"git source credentials naming a missing secret",
       env + R"({"source":{"git":{"url":"https://x/y"},"secretRef":"tok"}}})",
       {{"spec.source.secretRef", "Invalid value: \"tok\": must name a key of spec.secrets"}}},
      {"registry without credentials",
       env + R"({"registry":{"server":"reg.example"}}})",
       {{"spec.registry.credentialsSecret", "Required value"}}},
  }));
  CAPTURE(row.name, row.json);
  auto reg = registry();
  Object o = object(row.json);
  Status s = reg->default_and_validate(o);
  INFO(s.to_string());
  REQUIRE(s.code() == Code::kInvalid);
  CHECK(field_errors(s) == [&] {
    std::string out;
    for (const FieldError& f : row.expected) out += f.path + ": " + f.message + "\n";
    return out;
  }());
}

TEST_CASE("all errors of an object are reported, sorted by path", "[kinds]") {
  auto reg = registry();
  Object o = object(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},
    "spec":{"restartPolicy":"Sometimes","ports":[{"containerPort":70000,"protocol":"SCTP"},{}],
            "volumes":[{"name":"Data!"}],"foo":true}})");
  Status s = reg->default_and_validate(o);
  REQUIRE(s.code() == Code::kInvalid);
  CHECK(s.message() == "Service \"web\" is invalid");
  CHECK(field_errors(s) ==
        "spec.foo: unknown field\n"
        "spec.ports[0].containerPort: must be between 1 and 65535\n"
        "spec.ports[0].protocol: Unsupported value: \"SCTP\": supported values: \"TCP\", \"UDP\"\n"
        "spec.ports[1].containerPort: Required value\n"
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
        "\"OnFailure\", \"Never\"\n"
        "spec.volumes[0].mountPath: Required value\n"
        "spec.volumes[0].name: Invalid value: \"Data!\": must be lowercase letters, digits and "
        "'-', starting and ending with a letter or digit\n");
}

TEST_CASE("control characters of names and keys are escaped in validation errors", "[kinds]") {
  auto reg = registry();
  Object svc =
      object(R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"a\u0001b\nc"},)"
             R"("spec":{"image":"x","bo\u0002gus":1}})");
  Status s = reg->default_and_validate(svc);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() == "Service \"a\\x01b\\nc\" is invalid");
  CHECK(field_errors(s) == "spec[bo\\x02gus]: unknown field\n");

  Object env =
      object(R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev"},)"
             R"("spec":{"variables":{"BAD\tKEY\r":"v"}}})");
  s = reg->default_and_validate(env);
  REQUIRE_FALSE(s.ok());
  REQUIRE(s.fields().size() == 1);
  CHECK(s.fields()[0].path == "spec.variables[BAD\\tKEY\\r]");
  auto no_control = [](std::string_view text) {
    return std::none_of(text.begin(), text.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  };
  for (const Status& st : {reg->default_and_validate(svc), reg->default_and_validate(env)}) {
    INFO(st.to_string());
    CHECK(no_control(st.message()));
    for (const FieldError& f : st.fields()) CHECK((no_control(f.path) && no_control(f.message)));
  }
}

TEST_CASE("metadata is not validated by the schema", "[kinds]") {
  auto reg = registry();
  Object o = object(
      R"({"apiVersion":"cenv.io/v1","kind":"Environment","metadata":{"name":"dev","anything":{"x":1}},"spec":{}})");
  CHECK(reg->default_and_validate(o).ok());
}

TEST_CASE("very long strings are refused without running their pattern", "[kinds]") {
  auto reg = registry();
  std::string huge(1 << 20, 'a');
  Object o = object(
      R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":{"volumes":[{"name":"d","mountPath":"/)" +
      huge + R"("}],"dependsOn":[")" + huge + R"("]}})");
  Status s = reg->default_and_validate(o);
  REQUIRE(s.code() == Code::kInvalid);
  CHECK(field_errors(s) ==
        "spec.dependsOn[0]: must have at most 63 characters\n"
        "spec.volumes[0].mountPath: must have at most 4096 characters\n");
}

struct CrdRow {
  std::string name;
  std::string yaml;
  std::string message;  // expected substring
};

TEST_CASE("from_crds rejects broken CRDs naming the CRD", "[kinds]") {
  const std::string head = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.cenv.io}
)";
  const std::string names = "  names: {kind: Thing, plural: things, shortNames: [th]}\n";
  const std::string versions = R"(  versions:
  - name: v1
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: object}}}
)";
  auto row = GENERATE_COPY(values<CrdRow>({
      {"not yaml", "a: [b", "CRD #1: invalid YAML"},
      {"not a CRD", "kind: Foo\n", "CRD #1: kind is not CustomResourceDefinition"},
      {"no names", head + "spec:\n  group: cenv.io\n  scope: Namespaced\n" + versions,
       "CRD #1 (things.cenv.io): spec.names is missing"},
      {"bad scope", head + "spec:\n  group: cenv.io\n  scope: Global\n" + names + versions,
       "spec.scope must be Namespaced or Cluster"},
      {"no v1",
       head + "spec:\n  group: cenv.io\n  scope: Namespaced\n" + names +
           "  versions: [{name: v2}]\n",
       "spec.versions has no version v1"},
      {"wrong name",
       "kind: CustomResourceDefinition\nmetadata: {name: x}\nspec:\n  group: cenv.io\n  scope: "
       "Namespaced\n" +
           names + versions,
       "CRD #1 (x): metadata.name must be things.cenv.io"},
      {"bad pattern",
       head + "spec:\n  group: cenv.io\n  scope: Namespaced\n" + names +
           "  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema: {type: object, "
           "properties: {spec: {type: string, pattern: '(('}}}\n",
       "invalid pattern"},
      {"bad printer column",
       head + "spec:\n  group: cenv.io\n  scope: Namespaced\n" + names + versions +
           "    additionalPrinterColumns: [{name: X, jsonPath: '.a[?(@.b'}]\n",
       "printer column X: invalid JSONPath"},
  }));
  CAPTURE(row.name);
  auto r = KindRegistry::from_crds({row.yaml});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK_THAT(r.status().message(), Catch::Contains(row.message));
}

TEST_CASE("from_crds rejects two kinds sharing a name", "[kinds]") {
  auto crd = [](const std::string& kind, const std::string& plural) {
    return "kind: CustomResourceDefinition\nmetadata: {name: " + plural +
           ".cenv.io}\nspec:\n  group: cenv.io\n  scope: Namespaced\n  names: {kind: " + kind +
           ", plural: " + plural +
           ", shortNames: [x]}\n  versions:\n  - name: v1\n    schema:\n"
           "      openAPIV3Schema: {type: object}\n";
  };
  auto r = KindRegistry::from_crds({crd("A", "as"), crd("B", "bs")});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("name \"x\" is already used by kind A"));
  CHECK(KindRegistry::from_crds({crd("A", "as")}).ok());
}

TEST_CASE("YAML scalars in CRDs are typed like YAML 1.2", "[kinds]") {
  auto r = KindRegistry::from_crds({R"(kind: CustomResourceDefinition
metadata: {name: things.cenv.io}
spec:
  group: cenv.io
  scope: Cluster
  names: {kind: Thing, plural: things}
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              a: {type: string, default: "10"}
              b: {type: integer, default: 10}
              c: {type: boolean, default: true}
              d: {type: number, default: 1.5}
              e: {type: string, default: 'true'}
              f: {type: string, default: 1m}
)"});
  REQUIRE(r.ok());
  CHECK((*r)->find("thing")->singular == "thing");
  CHECK_FALSE((*r)->find("thing")->namespaced);
  Object o =
      object(R"({"apiVersion":"cenv.io/v1","kind":"Thing","metadata":{"name":"t"},"spec":{}})");
  Status s = (*r)->default_and_validate(o);
  INFO(s.to_string());
  REQUIRE(s.ok());
  CHECK(json::serialize(o.json().at("spec")) ==
        R"({"a":"10","b":10,"c":true,"d":1.5E0,"e":"true","f":"1m"})");
}

TEST_CASE("fast pattern matchers accept exactly what their regex accepts", "[kinds]") {
  // Field `fast` uses a pattern with a hand-written matcher; `regex` wraps the same pattern in a
  // group, which only std::regex handles. Both must judge every input alike.
  auto pattern = GENERATE(as<std::string>{}, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                          "^[A-Za-z_][A-Za-z0-9_]*$", "^/", "^([0-9]+(ms|s|m|h))+$");
  CAPTURE(pattern);
  auto r = KindRegistry::from_crds({R"(kind: CustomResourceDefinition
metadata: {name: things.cenv.io}
spec:
  group: cenv.io
  scope: Cluster
  names: {kind: Thing, plural: things}
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              fast: {type: string, pattern: ')" +
                                    pattern + R"('}
              regex: {type: string, pattern: '(?:)" +
                                    pattern + R"()'}
)"});
  REQUIRE(r.ok());
  for (const std::string input :
       {"",      "a",           "A",   "_",   "-",   "/",        "0",        "a-b", "a-",
        "-a",    "a_b",         "ab9", "9ab", "a.b", "/x",       "x/",       "1s",  "10ms",
        "1m30s", "1h2m3s4ms",   "1",   "s",   "1x",  "1msm",     "1mm",      "1s1", "1hh",
        "0s",    "abc-def-123", "Abc", "a b", "a\n", "\xc3\xa9", "a\xc3\xa9"}) {
    CAPTURE(input);
    Object o(json::object{{"apiVersion", "cenv.io/v1"},
                          {"kind", "Thing"},
                          {"spec", json::object{{"fast", input}, {"regex", input}}}});
    Status s = (*r)->default_and_validate(o);
    bool fast_ok = true, regex_ok = true;
    for (const FieldError& f : s.fields()) {
      if (f.path == "spec.fast") fast_ok = false;
      if (f.path == "spec.regex") regex_ok = false;
    }
    CHECK(fast_ok == regex_ok);
  }
}

TEST_CASE("validation is safe from many threads at once", "[kinds]") {
  auto reg = registry();
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto o = Object::from_json(
            R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":{"image":"nginx:1","ports":[{"containerPort":80}],"env":[{"name":"A","value":"b"}]}})");
        if (!o.ok() || !reg->default_and_validate(*o).ok()) ++failures;
        auto bad = Object::from_json(
            R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"containerPort":0}]}})");
        if (!bad.ok() || reg->default_and_validate(*bad).fields().size() != 1) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}

// Not run by default: `api_tests "[.perf]"` prints objects/s.
TEST_CASE("validation throughput", "[.perf]") {
  auto reg = registry();
  auto sample = object(
      R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"db","namespace":"dev","labels":{"app":"db"}},"spec":{"image":"postgres:16","command":["postgres"],"args":["-c","fsync=off"],"env":[{"name":"PGDATA","value":"/data"}],"secretEnv":[{"name":"POSTGRES_PASSWORD","secretKey":"DB_PASSWORD"}],"ports":[{"containerPort":5432,"hostPort":5432}],"volumes":[{"name":"data","mountPath":"/data"}],"healthCheck":{"exec":["pg_isready"]},"dependsOn":["cache"]}})");
  constexpr int kObjects = 10000;
  std::vector<Object> objects(kObjects, sample);
  // CPU time, so that a busy machine does not distort the rate.
  std::clock_t start = std::clock();
  for (Object& o : objects) REQUIRE(reg->default_and_validate(o).ok());
  double secs = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  WARN(kObjects << " objects in " << secs * 1000 << " ms CPU: " << kObjects / secs << " objects/s");
  CHECK(kObjects / secs > 10000);
}

}  // namespace
}  // namespace cenv
