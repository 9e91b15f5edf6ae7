#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "controller/docker/engine_connection.h"
#include "controller/docker/engine_docker_client.h"

namespace cenv::docker {
namespace {

EngineOptions options_from(const std::map<std::string, std::string>& env) {
  return EngineOptions::from_environment([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST_CASE("EngineOptions::from_environment reads Docker's variables") {
  EngineOptions none = options_from({{"HOME", "/home/u"}});
  CHECK(none.host == "unix:///var/run/docker.sock");
  CHECK_FALSE(none.tls);
  CHECK_FALSE(none.tls_verify);
  CHECK(none.cert_path == "/home/u/.docker");
  CHECK(none.api_version.empty());

  EngineOptions remote = options_from({{"DOCKER_HOST", "tcp://build:2376"},
                                       {"DOCKER_TLS_VERIFY", "1"},
                                       {"DOCKER_CERT_PATH", "/certs"},
                                       {"DOCKER_API_VERSION", "1.41"}});
  CHECK(remote.host == "tcp://build:2376");
  CHECK(remote.tls);
  CHECK(remote.tls_verify);
  CHECK(remote.cert_path == "/certs");
  CHECK(remote.api_version == "1.41");

  EngineOptions tls_only = options_from({{"DOCKER_TLS", "1"}});
  CHECK(tls_only.tls);
  CHECK_FALSE(tls_only.tls_verify);
}

TEST_CASE("parse_docker_host accepts unix and tcp addresses") {
  struct Row {
    const char* host;
    bool tls;
    bool ok;
    const char* canonical;
  };
  const Row rows[] = {
      {"unix:///var/run/docker.sock", false, true, "unix:///var/run/docker.sock"},
      {"/run/user/1000/docker.sock", false, true, "unix:///run/user/1000/docker.sock"},
      {"tcp://10.0.0.5:2375", false, true, "tcp://10.0.0.5:2375"},
      {"tcp://docker.example", false, true, "tcp://docker.example:2375"},
      {"tcp://docker.example", true, true, "tcp://docker.example:2376"},
      {"tcp://[::1]:2376/", true, true, "tcp://[::1]:2376"},
      {"unix://relative.sock", false, false, ""},
      {"tcp://:2375", false, false, ""},
      {"tcp://host:port", false, false, ""},
      {"ssh://me@host", false, false, ""},
      {"npipe:////./pipe/docker_engine", false, false, ""},
  };
  for (const Row& row : rows) {
    INFO(row.host);
    auto ep = parse_docker_host(row.host, row.tls);
    REQUIRE(ep.ok() == row.ok);
    if (row.ok) {
      CHECK(ep->to_string() == row.canonical);
      CHECK(ep->tls == (row.tls && ep->kind == EngineEndpoint::Kind::kTcp));
    } else {
      CHECK(ep.status().code() == Code::kInvalid);
      CHECK_THAT(ep.status().message(), Catch::Contains(row.host));
    }
  }
}

TEST_CASE("EngineDockerClient::connect refuses TLS without readable certificates") {
  EngineOptions o;
  o.host = "tcp://127.0.0.1:2376";
  o.tls = o.tls_verify = true;
  o.cert_path = "/nonexistent-cenv-certs";
  auto c = EngineDockerClient::connect(o);
  CHECK(c.status().code() == Code::kInvalid);
  CHECK_THAT(c.status().message(), Catch::Contains("/nonexistent-cenv-certs/ca.pem"));
}

}  // namespace
}  // namespace cenv::docker
