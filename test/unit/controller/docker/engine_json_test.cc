#include "controller/docker/engine_json.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace cenv::docker {
namespace {

namespace json = boost::json;

TEST_CASE("container_create_body carries the whole spec in Docker's shape") {
  ContainerSpec spec;
  spec.name = "cenv-dev-web";
  spec.image = "cenv/base:bookworm";
  spec.cmd = {"httpd", "-f"};
  spec.entrypoint = {"/bin/sh", "-c"};
  spec.env = {"A=1"};
  spec.labels = {{"io.cenv.managed", "true"}};
  spec.working_dir = "/srv";
  spec.user = "1000";
  spec.open_stdin = true;
  spec.exposed_ports = {{9000, "udp"}};
  spec.port_bindings = {{8080, "tcp", "127.0.0.1", 18080}, {8080, "tcp", "", 0}};
  spec.mounts = {{Mount::Type::kVolume, "cenv-dev-web-data", "/data", false},
                 {Mount::Type::kBind, "/host/src", "/src", true}};
  spec.network = "cenv-dev";
  spec.network_aliases = {"web"};
  spec.stop_timeout_seconds = 5;
  spec.init = true;

  json::object o = json::parse(container_create_body(spec)).as_object();
  CHECK(o.at("Image") == "cenv/base:bookworm");
  CHECK(o.at("Cmd") == json::array{"httpd", "-f"});
  CHECK(o.at("Entrypoint") == json::array{"/bin/sh", "-c"});
  CHECK(o.at("Env") == json::array{"A=1"});
  CHECK(o.at("Labels").at("io.cenv.managed") == "true");
  CHECK(o.at("WorkingDir") == "/srv");
  CHECK(o.at("User") == "1000");
  CHECK(o.at("OpenStdin") == true);
  CHECK(o.at("AttachStdin") == true);
  CHECK(o.at("StopTimeout") == 5);
  CHECK(o.at("Healthcheck").at("Test") == json::array{"NONE"});
  CHECK(o.at("ExposedPorts").as_object().contains("9000/udp"));
  CHECK(o.at("ExposedPorts").as_object().contains("8080/tcp"));
  const json::object& host = o.at("HostConfig").as_object();
  CHECK(host.at("PortBindings").at("8080/tcp") ==
        json::parse(R"([{"HostIp":"127.0.0.1","HostPort":"18080"},{"HostIp":"","HostPort":""}])"));
  CHECK(host.at("Mounts") == json::parse(R"([
      {"Type":"volume","Source":"cenv-dev-web-data","Target":"/data","ReadOnly":false},
      {"Type":"bind","Source":"/host/src","Target":"/src","ReadOnly":true}])"));
  CHECK(host.at("NetworkMode") == "cenv-dev");
  CHECK(host.at("Init") == true);
  CHECK(host.at("AutoRemove") == false);
  CHECK(o.at("NetworkingConfig").at("EndpointsConfig").at("cenv-dev").at("Aliases") ==
        json::array{"web"});
}

TEST_CASE("container_create_body leaves image defaults alone") {
  ContainerSpec spec;
  spec.image = "x";
  json::object o = json::parse(container_create_body(spec)).as_object();
  CHECK_FALSE(o.contains("Cmd"));
  CHECK_FALSE(o.contains("Entrypoint"));
  CHECK_FALSE(o.contains("WorkingDir"));
  CHECK_FALSE(o.contains("StopTimeout"));
  CHECK_FALSE(o.contains("NetworkingConfig"));
  CHECK_FALSE(o.at("HostConfig").as_object().contains("NetworkMode"));
  CHECK_FALSE(o.at("HostConfig").as_object().contains("Init"));
}

TEST_CASE("parse_container_info reads what inspect returns") {
  const char* body = R"({
    "Id": "abc123", "Created": "2026-11-28T20:00:00.123456789Z", "Name": "/cenv-dev-web",
    "Image": "sha256:img", "RestartCount": 2,
    "State": {"Status": "running", "Running": true, "Paused": false, "Restarting": false,
              "OOMKilled": false, "Dead": false, "Pid": 4242, "ExitCode": 0, "Error": "",
              "StartedAt": "2026-11-28T20:00:01Z", "FinishedAt": "0001-01-01T00:00:00Z"},
    "Config": {"Image": "cenv/base:bookworm", "Cmd": ["httpd"], "Entrypoint": null,
               "Env": ["PATH=/bin"], "WorkingDir": "", "Tty": false, "OpenStdin": false,
               "Labels": {"io.cenv.kind": "Service"}},
    "NetworkSettings": {
      "Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"},
                             {"HostIp": "::", "HostPort": "49153"}],
                "9000/udp": null},
      "Networks": {"cenv-dev": {"NetworkID": "net1", "IPAddress": "172.18.0.2",
                                "Gateway": "172.18.0.1", "Aliases": ["web", "abc123"]}}}
  })";
  auto info = parse_container_info(body);
  REQUIRE(info.ok());
  CHECK(info->id == "abc123");
  CHECK(info->name == "cenv-dev-web");
  CHECK(info->image == "cenv/base:bookworm");
  CHECK(info->image_id == "sha256:img");
  CHECK(info->restart_count == 2);
  CHECK(info->state.running);
  CHECK(info->state.pid == 4242);
  CHECK(info->state.status == "running");
  CHECK(info->cmd == std::vector<std::string>{"httpd"});
  CHECK(info->entrypoint.empty());
  CHECK(info->labels.at("io.cenv.kind") == "Service");
  REQUIRE(info->ports.size() == 2);
  CHECK(info->ports[0] == PortBinding{8080, "tcp", "0.0.0.0", 49153});
  REQUIRE(info->networks.count("cenv-dev") == 1);
  CHECK(info->networks.at("cenv-dev").ip_address == "172.18.0.2");
  CHECK(info->networks.at("cenv-dev").aliases == std::vector<std::string>{"web", "abc123"});
}

TEST_CASE("parsers reject answers that are not Docker's shape") {
  CHECK(parse_container_info("not json").status().code() == Code::kInternal);
  CHECK(parse_container_info("[]").status().code() == Code::kInternal);
  CHECK(parse_container_list("{}").status().code() == Code::kInternal);
  CHECK(parse_created_id(R"({"Warnings":[]})").status().code() == Code::kInternal);
}

TEST_CASE("parse lists of containers, networks, volumes and images") {
  auto containers = parse_container_list(
      R"([{"Id":"a","Names":["/one"],"Image":"img","ImageID":"sha256:i","State":"exited",
           "Status":"Exited (0) 1 minute ago","Created":0,"Labels":null}])");
  REQUIRE(containers.ok());
  REQUIRE(containers->size() == 1);
  CHECK(containers->front().name == "one");
  CHECK(containers->front().created == "1970-01-01T00:00:00Z");
  CHECK(containers->front().labels.empty());

  auto networks = parse_network_list(
      R"([{"Name":"cenv-dev","Id":"n1","Driver":"bridge","Scope":"local","Labels":{"a":"b"},
           "Containers":{"c1":{"IPv4Address":"172.18.0.2/16"}}}])");
  REQUIRE(networks.ok());
  CHECK(networks->front().containers.at("c1") == "172.18.0.2");

  auto volumes = parse_volume_list(R"({"Volumes":null,"Warnings":null})");
  REQUIRE(volumes.ok());
  CHECK(volumes->empty());

  auto images = parse_image_list(
      R"([{"Id":"sha256:x","RepoTags":["<none>:<none>"],"Created":1,"Size":5,"Labels":null}])");
  REQUIRE(images.ok());
  CHECK(images->front().tags.empty());
  CHECK(images->front().size == 5);
}

TEST_CASE("parse_exec_info knows the exit code only once the process ended") {
  auto running = parse_exec_info(R"({"ID":"e","Running":true,"ExitCode":null,"Pid":7,
                                     "ProcessConfig":{"tty":true}})");
  REQUIRE(running.ok());
  CHECK_FALSE(running->exit_code.has_value());
  CHECK(running->tty);
  auto done = parse_exec_info(R"({"ID":"e","Running":false,"ExitCode":7,"Pid":7})");
  REQUIRE(done.ok());
  CHECK(done->exit_code == 7);
}

TEST_CASE("parse_event reads the actor and its attributes") {
  auto e = parse_event(
      R"({"status":"die","id":"c1","from":"img","Type":"container","Action":"die",
          "Actor":{"ID":"c1","Attributes":{"exitCode":"3","io.cenv.uid":"u1","name":"x"}},
          "scope":"local","time":1700000000,"timeNano":1700000000123456789})");
  REQUIRE(e.ok());
  CHECK(e->type == "container");
  CHECK(e->action == "die");
  CHECK(e->id == "c1");
  CHECK(e->attributes.at("io.cenv.uid") == "u1");
  CHECK(e->time_nano == 1700000000123456789);
}

TEST_CASE("parsers take the engine's numbers as they come: a double is truncated, null is 0") {
  auto info = parse_container_info(
      R"({"Id":"c","RestartCount":2.0,"State":{"Pid":null,"ExitCode":"1"},"Name":null})");
  REQUIRE(info.ok());
  CHECK(info->restart_count == 2);
  CHECK(info->state.pid == 0);
  CHECK(info->state.exit_code == 0);
  CHECK(info->name.empty());
  auto e = parse_event(R"({"Type":"container","Action":"start","time":1700000000.0})");
  REQUIRE(e.ok());
  CHECK(e->time_nano == 1700000000LL * 1'000'000'000);
}

TEST_CASE("filters_json and unix_time_param write Docker's query values") {
  CHECK(filters_json({{"label", {"a=b", "c"}}, {"type", {}}}) == R"({"label":["a=b","c"]})");
  CHECK(filters_json({{"label", {}}}).empty());
  auto t = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1700000000000000042));
  CHECK(unix_time_param(t) == "1700000000.000000042");
}

TEST_CASE("registry_auth_header is base64url of Docker's AuthConfig, {} without credentials") {
  CHECK(registry_auth_header(std::nullopt) == "e30=");  // base64 of {}
  std::string header = registry_auth_header(RegistryAuth{"al?ce", "p>?w", "reg.test:5000"});
  CHECK(header.find_first_of("+/") == std::string::npos);
  // Decoded (base64url back to base64), it is the JSON the Engine API documents.
  std::string b64 = header;
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  std::string decoded(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  REQUIRE(n > 0);
  decoded.resize(static_cast<size_t>(n));
  while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();  // padding
  auto v = boost::json::parse(decoded).as_object();
  CHECK(v.at("username") == "al?ce");
  CHECK(v.at("password") == "p>?w");
  CHECK(v.at("serveraddress") == "reg.test:5000");
}

TEST_CASE("image_registry reads the registry of a reference as Docker does") {
  CHECK(image_registry("127.0.0.1:5000/a/b:1") == "127.0.0.1:5000");
  CHECK(image_registry("reg.example/x") == "reg.example");
  CHECK(image_registry("localhost/x:1") == "localhost");
  CHECK(image_registry("cenv/base:bookworm") == "docker.io");
  CHECK(image_registry("debian:12") == "docker.io");
  CHECK(image_registry("cenv-runtime/dev:0123") == "docker.io");
}

TEST_CASE("split_image_ref finds the tag after the last slash") {
  struct Row {
    const char* ref;
    const char* repo;
    const char* tag;
  };
  const Row rows[] = {
      {"busybox", "busybox", "latest"},
      {"cenv/base:bookworm", "cenv/base", "bookworm"},
      {"localhost:5000/x", "localhost:5000/x", "latest"},
      {"localhost:5000/x:1.2", "localhost:5000/x", "1.2"},
      {"x@sha256:abc", "x", "sha256:abc"},
  };
  for (const Row& row : rows) {
    INFO(row.ref);
    auto [repo, tag] = split_image_ref(row.ref);
    CHECK(repo == row.repo);
    CHECK(tag == row.tag);
  }
}

}  // namespace
}  // namespace cenv::docker
