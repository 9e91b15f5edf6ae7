// service_spec: durations, typed fields, the workload of a Service and its hash, and whether
// its Environment's network can take it.

#include "reconcilers/service_spec.h"

#include <catch2/catch.hpp>

#include "api/clock.h"
#include "api/conditions.h"
#include "controller/security/keyring_secret_box.h"

namespace cenv {
namespace {

Object make(std::string_view kind, std::string_view ns, std::string_view name,
            std::string_view spec_json) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = kind;
  o.set_name(name);
  if (!ns.empty()) o.set_ns(ns);
  o.set_uid("00000000-0000-4000-8000-000000000001");
  o.json()["spec"] = boost::json::parse(spec_json);
  return o;
}

TEST_CASE("parse_duration: accepts the CRD pattern and refuses the rest", "[reconcilers][spec]") {
  struct Row {
    std::string text;
    int64_t ms;  // -1: invalid
  };
  for (const Row& row : std::vector<Row>{{"10s", 10'000},
                                         {"500ms", 500},
                                         {"1m30s", 90'000},
                                         {"2h", 7'200'000},
                                         {"0s", 0},
                                         {"1h1m1s1ms", 3'661'001},
                                         {"", -1},
                                         {"10", -1},
                                         {"s", -1},
                                         {"5x", -1},
                                         {"-1s", -1}}) {
    INFO(row.text);
    auto d = parse_duration(row.text);
    if (row.ms < 0) {
      CHECK_FALSE(d.ok());
    } else {
      REQUIRE(d.ok());
      CHECK(d->count() == row.ms);
    }
  }
}

TEST_CASE("parse_service_spec: health check, policy and dependencies", "[reconcilers][spec]") {
  auto s = parse_service_spec(make("Service", "dev", "web", R"({
    "restartPolicy": "OnFailure", "dependsOn": ["db"],
    "healthCheck": {"tcpPort": 80, "interval": "2s", "timeout": "1s", "retries": 5,
                    "startPeriod": "1m"}})"));
  REQUIRE(s.ok());
  CHECK(s->restart_policy == RestartPolicy::kOnFailure);
  CHECK(s->depends_on == std::vector<std::string>{"db"});
  REQUIRE(s->health_check);
  CHECK(s->health_check->tcp_port == 80);
  CHECK(s->health_check->interval == std::chrono::seconds(2));
  CHECK(s->health_check->timeout == std::chrono::seconds(1));
  CHECK(s->health_check->retries == 5);
  CHECK(s->health_check->start_period == std::chrono::minutes(1));
  CHECK_FALSE(parse_service_spec(make("Service", "dev", "web", "{}"))->health_check);
}

TEST_CASE("service_workload: variables, env, secrets, ports, volumes and network",
          "[reconcilers][spec]") {
  security::KeyringSecretBox box(security::DataKey::generate().value(), {});
  Object env = make("Environment", "", "dev",
                    R"({"variables": {"X": "1", "Y": "env"}, "secrets": {"PW": "s3cret"}})");
  REQUIRE(seal_secrets(env, nullptr, box).ok());
  Object svc = make("Service", "dev", "web", R"({
    "env": [{"name": "Y", "value": "svc"}], "secretEnv": [{"name": "DB_PW", "secretKey": "PW"}],
    "ports": [{"containerPort": 80, "hostPort": 0, "protocol": "TCP"},
              {"containerPort": 53, "protocol": "UDP"}],
    "volumes": [{"name": "data", "mountPath": "/data"}]})");
  auto w = service_workload(svc, env, "img:1", {}, &box);
  REQUIRE(w.ok());
  CHECK(w->env == std::vector<std::string>{"DB_PW=s3cret", "X=1", "Y=svc"});
  REQUIRE(w->ports.size() == 2);
  CHECK(w->ports[0].host_port == std::optional<uint16_t>(0));
  CHECK_FALSE(w->ports[1].host_port);
  CHECK(w->ports[1].protocol == "udp");
  CHECK(w->network == "cenv-dev");
  CHECK(w->aliases == std::vector<std::string>{"web"});
  CHECK(w->volumes.size() == 1);
  CHECK(w->spec_hash == workload_hash(w.value()));

  SECTION("a missing secret is Invalid with its field path") {
    Object bad =
        make("Service", "dev", "web", R"({"secretEnv": [{"name": "A", "secretKey": "NOPE"}]})");
    auto r = service_workload(bad, env, "img:1", {}, &box);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.status().fields().size() == 1);
    CHECK(r.status().fields()[0].path == "spec.secretEnv[0].secretKey");
  }
  SECTION("the hash changes with what shapes the container, and only with it") {
    auto same = service_workload(svc, env, "img:1", {}, &box);
    CHECK(same->spec_hash == w->spec_hash);
    CHECK(service_workload(svc, env, "img:2", {}, &box)->spec_hash != w->spec_hash);
    Object env2 = make("Environment", "", "dev", R"({"variables": {"X": "2", "Y": "env"},
                                                     "secrets": {"PW": "s3cret"}})");
    REQUIRE(seal_secrets(env2, nullptr, box).ok());
    CHECK(service_workload(svc, env2, "img:1", {}, &box)->spec_hash != w->spec_hash);
  }
}

TEST_CASE("network_wait: waits until NetworkReady is True and says so once it takes long",
          "[reconcilers][spec]") {
  using std::chrono::seconds;
  const auto now = std::chrono::system_clock::from_time_t(1'800'000'000);
  const std::string created = format_rfc3339(now - seconds(10));
  const std::string long_ago = format_rfc3339(now - seconds(45));
  struct Row {
    std::string name;
    std::string condition;  // NetworkReady status; "" for none
    std::string since;      // its lastTransitionTime, else the creationTimestamp
    bool waits;
    std::vector<std::string> says;  // parts of the message
    std::string not_says;           // absent from the message
  };
  const std::vector<Row> rows = {
      {"ready", "True", created, false, {}, ""},
      {"ready for long", "True", long_ago, false, {}, ""},
      {"not reconciled yet",
       "",
       created,
       true,
       {"waiting for network cenv-dev of Environment dev to be created"},
       "not ready since"},
      {"not reconciled for long",
       "",
       long_ago,
       true,
       {"to be created", "; not ready since " + long_ago + ", more than 30s"},
       ""},
      {"failing",
       "False",
       created,
       true,
       {"waiting for network cenv-dev of Environment dev (NetworkReady False, NetworkFailed: "
        "network cenv-dev: busy)"},
       "not ready since"},
      {"failing for long",
       "False",
       long_ago,
       true,
       {"(NetworkReady False, NetworkFailed: network cenv-dev: busy); not ready since " + long_ago +
        ", more than 30s"},
       ""},
      {"Docker away", "Unknown", created, true, {"NetworkReady Unknown"}, "not ready since"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Object env = make("Environment", "", "dev", "{}");
    if (row.condition.empty()) {
      env.set_creation_timestamp(row.since);
    } else {
      env.set_creation_timestamp(format_rfc3339(now - seconds(3600)));
      std::chrono::system_clock::time_point since;
      REQUIRE(parse_rfc3339(row.since, &since));
      set_condition(env, "NetworkReady", row.condition,
                    row.condition == "True" ? "NetworkExists" : "NetworkFailed",
                    "network cenv-dev: busy", 1, since);
    }
    auto wait = network_wait(env, DockerNames(), now, seconds(30));
    REQUIRE(wait.has_value() == row.waits);
    if (!wait) continue;
    INFO(*wait);
    for (const std::string& part : row.says) CHECK(wait->find(part) != std::string::npos);
    if (!row.not_says.empty()) CHECK(wait->find(row.not_says) == std::string::npos);
  }
  // A network named by the Environment is the one waited for.
  Object named = make("Environment", "", "dev", R"({"network": "team-net"})");
  CHECK(network_wait(named, DockerNames(), now, seconds(30))->find("network team-net") !=
        std::string::npos);
}

}  // namespace
}  // namespace cenv
