// A private registry as a user meets it, against the real controller, dockerd and Debian's
// registry (docker-registry 2.8, basic auth from an htpasswd file, plain HTTP on loopback, which
// dockerd allows for 127.0.0.0/8 without configuration): a base image pushed there is refused
// without credentials (`apply --wait` stops at once with the cause), pulled with them, and with
// spec.registry.push the runtime image built from a Module is pushed there and serves.
// The test starts the registry itself on a free loopback port with temporary storage and stops
// it at the end; it removes the image names it made and the controller removes the rest.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "pa55-Registry-e2e";

// docker-registry serving `dir`/data on 127.0.0.1:port with htpasswd auth, until destroyed.
class LocalRegistry {
 public:
  LocalRegistry(const fs::path& dir, int port) : dir_(dir), port_(port) {
    fs::create_directories(dir_ / "data");
    shell("htpasswd -Bbn " + std::string(kUser) + " " + kPassword + " > '" +
          (dir_ / "htpasswd").string() + "'");
    write_file(
        dir_ / "config.yml",
        "version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: "
        "{rootdirectory: " +
            (dir_ / "data").string() + "}\nhttp: {addr: '127.0.0.1:" + std::to_string(port_) +
            "'}\nauth:\n  htpasswd: {realm: cenv-e2e, path: " + (dir_ / "htpasswd").string() +
            "}\n");
    std::string pid = shell("/usr/bin/docker-registry serve '" + (dir_ / "config.yml").string() +
                            "' >'" + (dir_ / "registry.log").string() + "' 2>&1 & echo $!");
    pid_ = std::atoi(pid.c_str());
  }
  ~LocalRegistry() {
    if (pid_ > 0) kill(pid_, SIGTERM);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The HTTP status of GET /v2/`path` (with the credentials when `auth`) and the body.
  std::string get(const std::string& path, bool auth) const {
    return shell("curl -s -w ' HTTP %{http_code}' " +
                 (auth ? "-u " + std::string(kUser) + ":" + kPassword + " " : std::string()) +
                 "http://" + address() + "/v2/" + path);
  }
  std::string log() const { return CenvRunner::slurp(dir_ / "registry.log"); }

 private:
  fs::path dir_;
  int port_;
  int pid_ = -1;
};

// Removes the image names this test gave (never the images under other names: the base image
// pushed is cenv/base:bookworm under another name).
struct ImageNames {
  std::vector<std::string> names;
  ~ImageNames() {
    for (const std::string& n : names) shell("docker rmi '" + n + "' >/dev/null 2>&1");
  }
};

TEST_CASE(
    "a private registry refuses a pull without credentials, serves one with them and "
    "receives the pushed runtime image",
    "[e2e][registry][docker]") {
  REQUIRE(shell("which docker-registry htpasswd curl | wc -l") == "3\n");  // scripts/setup
  CenvRunner cenv;
  const fs::path dir = cenv.home() / "registry-test";
  const int port = free_port();
  REQUIRE(port > 0);
  LocalRegistry registry(dir / "registry", port);
  REQUIRE(eventually([&] { return has(registry.get("", false), "HTTP 401"); },
                     std::chrono::seconds(20)));
  INFO("registry log: " << registry.log());

  // The base image, pushed by a user logged in with a Docker config of the test's own.
  const std::string server = registry.address();
  const std::string base = server + "/" + cenv.docker_name("base") + ":v1";
  ImageNames names;
  names.names.push_back(base);
  const std::string docker = "DOCKER_CONFIG='" + (dir / "docker-config").string() + "' docker ";
  REQUIRE(has(shell("printf %s '" + std::string(kPassword) + "' | " + docker + "login " + server +
                    " -u " + kUser + " --password-stdin 2>&1"),
              "Login Succeeded"));
  REQUIRE(shell(docker + "tag cenv/base:bookworm " + base + " && echo ok") == "ok\n");
  REQUIRE(has(shell(docker + "push " + base + " 2>&1"), "digest: sha256:"));
  REQUIRE(shell("docker rmi " + base + " >/dev/null && echo ok") == "ok\n");
  CHECK(has(registry.get(cenv.docker_name("base") + "/tags/list", true), "\"v1\""));

  // Without credentials: refused, and --wait stops at once naming the registry.
  const fs::path manifest = dir / "env.yaml";
  const std::string env_head = R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: privreg}
spec:
  baseImage: ")" + base + "\"\n";
  write_file(manifest, env_head);
  auto refused = cenv.run("apply -f " + manifest.string() + " --wait --timeout 60s");
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(has(refused.err, "RegistryUnauthorized"));
  CHECK(has(refused.err, "registry " + server + " refused to pull " + base));
  CHECK(has(refused.err, "spec.registry.credentialsSecret"));
  auto described = cenv.run("describe env privreg");
  CHECK(has(described.out, "no basic auth credentials"));

  // With the credentials: pulled, and a Service runs on it.
  const std::string registry_spec = "  secrets: {regcred: \"" + std::string(kUser) + ":" +
                                    kPassword + "\"}\n  registry: {server: \"" + server +
                                    "\", credentialsSecret: regcred";
  const std::string service = R"(---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: idle, namespace: privreg}
spec:
  command: [sleep, "100000"]
)";
  write_file(manifest, env_head + registry_spec + "}\n" + service);
  auto pulled = cenv.run("apply -f " + manifest.string() + " --wait --timeout 60s");
  INFO(pulled.out << pulled.err);
  REQUIRE(pulled.exit_code == 0);
  CHECK(shell("docker image inspect -f ok " + base) == "ok\n");
  CHECK(cenv.run("env image privreg").out == base + "\n");

  // push: true and a Module: the runtime image is built, pushed, and the Service runs it.
  const std::string module = R"(---
apiVersion: cenv.io/v1
kind: Module
metadata: {name: marker, namespace: privreg}
spec:
  install: "echo registry-e2e > /etc/cenv-registry-e2e"
)";
  write_file(manifest, env_head + registry_spec + ", push: true}\n" + service + module);
  auto pushed = cenv.run("apply -f " + manifest.string() + " --wait --timeout 90s");
  INFO(pushed.out << pushed.err);
  REQUIRE(pushed.exit_code == 0);
  const std::string image = cenv.run("env image privreg").out;
  const std::string repository = cenv.docker_name("runtime") + "/privreg";
  CHECK(image.starts_with(server + "/" + repository + ":"));
  const std::string tag = image.substr(image.rfind(':') + 1, 12);
  CHECK(has(registry.get("_catalog", true), repository));
  CHECK(has(registry.get(repository + "/tags/list", true), "\"" + tag + "\""));
  CHECK(has(cenv.run("run -n privreg -- cat /etc/cenv-registry-e2e").out, "registry-e2e"));
  // The password is in no answer of the API.
  CHECK_FALSE(has(cenv.run("get env privreg -o yaml").out, kPassword));
  CHECK_FALSE(has(cenv.run("events -A").out, kPassword));
  CHECK_FALSE(has(CenvRunner::slurp(cenv.home() / "logs/controller.log"), kPassword));

  // Deleting the Environment removes the runtime image under both its names.
  auto deleted = cenv.run("delete -f " + manifest.string() + " --timeout 60s");
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
  CHECK(shell("docker images -q " + server + "/" + repository) == "");
  CHECK(shell("docker images -q --filter label=" + cenv.label()) == "");
}

}  // namespace
}  // namespace cenv::e2e
