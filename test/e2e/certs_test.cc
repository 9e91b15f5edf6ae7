// `cenv certs init` and `cenv certs client`: the files a user gets, their modes, and the refusal
// to overwrite them. No controller is involved.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

// The permission bits of `path`, or -1 when it does not exist.
int mode_of(const std::filesystem::path& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

TEST_CASE("certs init writes the CA, server, admin and data key files with private keys 0600",
          "[e2e][certs]") {
  CenvRunner cenv;
  const auto dir = cenv.home() / "certs";
  auto init = cenv.run("certs init --dir '" + dir.string() + "' --host cenv.example.com");
  INFO(init.out << init.err);
  REQUIRE(init.exit_code == 0);
  const std::vector<std::pair<std::string, int>> files = {
      {"ca.crt", 0644},    {"ca.key", 0600},    {"server.crt", 0644}, {"server.key", 0600},
      {"admin.crt", 0644}, {"admin.key", 0600}, {"data.key", 0600}};
  for (const auto& [name, mode] : files) {
    INFO(name);
    CHECK(mode_of(dir / name) == mode);
    CHECK(has(init.out, "wrote " + (dir / name).string() + " ("));
  }
  CHECK(std::filesystem::file_size(dir / "data.key") == 65);  // 64 hex digits and a newline
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "run" / "controller.sock"));

  auto server = cenv.run("certs show '" + (dir / "server.crt").string() + "'");
  CHECK(has(server.out, "SANs:      DNS:localhost, DNS:cenv.example.com, IP:127.0.0.1"));
  auto admin = cenv.run("certs show '" + (dir / "admin.crt").string() + "'");
  CHECK(has(admin.out, "Subject:   CN=admin, O=cenv:admins"));
  CHECK(has(admin.out, "Issuer:    CN=cenv-ca"));
}

TEST_CASE("certs init refuses to overwrite existing files unless --force", "[e2e][certs]") {
  CenvRunner cenv;
  const auto dir = cenv.home() / "certs";
  REQUIRE(cenv.run("certs init --dir '" + dir.string() + "'").exit_code == 0);
  const std::string ca = CenvRunner::slurp(dir / "ca.crt");
  const std::string data_key = CenvRunner::slurp(dir / "data.key");
  std::filesystem::remove(dir / "server.key");  // one file missing: still nothing is written

  auto again = cenv.run("certs init --dir '" + dir.string() + "'");
  CHECK(again.exit_code == 1);
  CHECK(has(again.err, (dir / "ca.crt").string() + ", "));
  CHECK(has(again.err, "already exist; nothing written (--force overwrites them)"));
  CHECK(CenvRunner::slurp(dir / "ca.crt") == ca);
  CHECK(CenvRunner::slurp(dir / "data.key") == data_key);
  CHECK_FALSE(std::filesystem::exists(dir / "server.key"));

  auto forced = cenv.run("certs init --dir '" + dir.string() + "' --force");
  INFO(forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(CenvRunner::slurp(dir / "ca.crt") != ca);
  CHECK(CenvRunner::slurp(dir / "data.key") != data_key);
  CHECK(mode_of(dir / "server.key") == 0600);
}

TEST_CASE("certs client issues NAME.crt and NAME.key from the directory's CA", "[e2e][certs]") {
  CenvRunner cenv;
  const auto dir = cenv.home() / "certs";
  REQUIRE(cenv.run("certs init --dir '" + dir.string() + "'").exit_code == 0);
  auto alice =
      cenv.run("certs client alice --dir '" + dir.string() + "' --groups dev,ops --days 30");
  INFO(alice.err);
  REQUIRE(alice.exit_code == 0);
  CHECK(mode_of(dir / "alice.crt") == 0644);
  CHECK(mode_of(dir / "alice.key") == 0600);
  auto shown = cenv.run("certs show '" + (dir / "alice.crt").string() + "'");
  CHECK(has(shown.out, "Subject:   CN=alice, O=dev, O=ops"));
  CHECK(has(shown.out, "User:      alice\nGroups:    dev, ops\n"));

  const std::string issued = CenvRunner::slurp(dir / "alice.crt");
  auto again = cenv.run("certs client alice --dir '" + dir.string() + "'");
  CHECK(again.exit_code == 1);
  CHECK(has(again.err, (dir / "alice.crt").string() + ", " + (dir / "alice.key").string() +
                           " already exist; nothing written"));
  CHECK(CenvRunner::slurp(dir / "alice.crt") == issued);
}

TEST_CASE("certs commands name the file or value at fault", "[e2e][certs]") {
  CenvRunner cenv;
  const auto empty = cenv.home() / "empty";
  std::filesystem::create_directories(empty);
  auto no_ca = cenv.run("certs client bob --dir '" + empty.string() + "'");
  CHECK(no_ca.exit_code == 1);
  CHECK(has(no_ca.err, "error: " + (empty / "ca.crt").string() + ": no such file"));

  std::ofstream(empty / "garbage.crt") << "garbage\n";
  auto garbage = cenv.run("certs show '" + (empty / "garbage.crt").string() + "'");
  CHECK(garbage.exit_code == 1);
  CHECK(has(garbage.err, (empty / "garbage.crt").string() + ": not a PEM certificate"));

  auto bad_host = cenv.run("certs init --dir '" + empty.string() + "' --host 'a b'");
  CHECK(bad_host.exit_code == 1);
  CHECK(has(bad_host.err, "host \"a b\": neither a DNS name nor an IP address"));
  CHECK_FALSE(std::filesystem::exists(empty / "ca.crt"));
}

}  // namespace
}  // namespace cenv::e2e
