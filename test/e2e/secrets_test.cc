// Environment secrets end to end, against the real dockerd: a Service's container gets a
// secret through secretEnv while the database, the controller's log and every read show no
// plain text; an unchanged apply stays unchanged and diff shows a change without the values;
// after `cenv certs rotate-data-key` a new container still gets the value; a ciphertext
// tampered with in the SQLite file makes the Service Ready=False, naming the secret.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

std::string manifest(const std::string& ns, const std::string& secret) {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + ns +
         "\nspec:\n  baseImage: cenv/base:bookworm\n  secrets:\n    DB_PASSWORD: \"" + secret +
         "\"\n---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: app\n  namespace: " +
         ns +
         "\nspec:\n  command: [busybox, sleep, \"3600\"]\n"
         "  secretEnv:\n  - {name: APP_DB_PASSWORD, secretKey: DB_PASSWORD}\n";
}

// Every file under `dir` (the database, its WAL, the controller's log) holding `needle`.
std::string files_holding(const fs::path& dir, const std::string& needle) {
  std::string found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (has(text.str(), needle)) found += entry.path().string() + " ";
  }
  return found;
}

std::string container_env(const std::string& container) {
  return shell("docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' " + container +
               " 2>/dev/null");
}

TEST_CASE(
    "a secret reaches the container and nothing else, survives rotation, and a tampered "
    "one is refused",
    "[e2e][secrets]") {
  CenvRunner cenv;
  std::random_device rd;
  const std::string ns = "e2e-sec-" + std::to_string(rd() % 1000000);
  const std::string secret = "pl41n-" + std::to_string(rd());
  const std::string container = cenv.docker_name(ns + "-app");

  auto applied = cenv.run("apply -f -", manifest(ns, secret));
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  auto waited = cenv.run("wait svc/app -n " + ns + " --for=condition=Ready --timeout=120s");
  INFO(waited.out << waited.err);
  REQUIRE(waited.exit_code == 0);
  CHECK(has(container_env(container), "APP_DB_PASSWORD=" + secret + "\n"));

  // Reads show it redacted.
  const std::vector<std::string> reads = {"get env " + ns + " -o yaml",
                                          "get env " + ns + " -o json", "describe env " + ns,
                                          "get env -o yaml"};
  for (const std::string& read : reads) {
    auto r = cenv.run(read);
    INFO(read << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(has(r.out, secret));
    CHECK_FALSE(has(r.out, "enc:v1"));
  }
  CHECK(has(cenv.run("get env " + ns + " -o yaml").out, "DB_PASSWORD: <redacted>"));

  // Unchanged stays unchanged; a changed value is configured, and diff shows neither value.
  CHECK(has(cenv.run("apply -f -", manifest(ns, secret)).out, "environment/" + ns + " unchanged"));
  auto diff = cenv.run("diff -f -", manifest(ns, secret + "-new"));
  INFO(diff.out << diff.err);
  CHECK(diff.exit_code == 1);
  CHECK(has(diff.out, "<redacted, changed>"));
  CHECK_FALSE(has(diff.out, secret));

  // The database and the controller's log never saw the plain text.
  CHECK(cenv.run("controller stop").exit_code == 0);
  CHECK(files_holding(cenv.home(), secret).empty());

  // Rotation, offline; a new container (the old one removed) still gets the value.
  auto key_before = shell("cat '" + (cenv.home() / "data.key").string() + "'");
  auto rotated = cenv.run("certs rotate-data-key");
  INFO(rotated.out << rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK(shell("cat '" + (cenv.home() / "data.key").string() + "'") != key_before);
  CHECK(shell("cat '" + (cenv.home() / "data.key.previous").string() + "'") == key_before);
  shell("docker rm -f " + container + " >/dev/null 2>&1");
  REQUIRE(cenv.run("controller start").exit_code == 0);
  CHECK(eventually([&] { return has(container_env(container), "APP_DB_PASSWORD=" + secret); },
                   std::chrono::seconds(120)));
  CHECK(has(cenv.run("apply -f -", manifest(ns, secret)).out, "environment/" + ns + " unchanged"));

  // A byte of the ciphertext flipped in the SQLite file: refused by the GCM tag.
  CHECK(cenv.run("controller stop").exit_code == 0);
  const std::string path = "'$.spec.secrets.DB_PASSWORD'";
  const std::string v = "json_extract(data, " + path + ")";
  shell("sqlite3 '" + (cenv.home() / "cenv.db").string() +
        "' \"UPDATE objects SET data = " + "json_set(data, " + path + ", substr(" + v +
        ", 1, 30) || CASE substr(" + v + ", 31, 1) WHEN 'A' THEN 'B' ELSE 'A' END || substr(" + v +
        ", 32)) WHERE kind = " + "'Environment' AND name = '" + ns + "'\"");
  shell("docker rm -f " + container + " >/dev/null 2>&1");
  auto refused = cenv.run("wait svc/app -n " + ns + " --for=condition=Ready=False --timeout=120s");
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 0);
  auto described = cenv.run("describe svc app -n " + ns);
  INFO(described.out);
  CHECK(has(described.out, "DB_PASSWORD"));
  CHECK(has(described.out, "Ready"));
  CHECK(cenv.run("get env " + ns).exit_code == 0);  // the controller still serves
  CHECK_FALSE(has(container_env(container), secret));

  CHECK(cenv.run("delete env " + ns + " --timeout=120s").exit_code == 0);
  CHECK(cenv.run("controller stop").exit_code == 0);
  CHECK(files_holding(cenv.home(), secret).empty());
}

}  // namespace
}  // namespace cenv::e2e
