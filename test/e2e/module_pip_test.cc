// requires.pip from the Environment's spec.pipIndex, with real dockerd and pip: one Environment
// serves a PEP 503 "simple" index (a module's files, published by a busybox httpd Service the
// module declares), another installs a wheel from it while its image builds (host network),
// and a command of the built image imports it. The wheel is made here with libarchive.

#include <archive.h>
#include <archive_entry.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

// A pure-Python wheel of package hello_cenv 1.0 (RECORD without hashes: pip does not need
// them to install).
void write_wheel(const fs::path& file) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"hello_cenv/__init__.py", "GREETING = 'hello from the index'\n"},
      {"hello_cenv-1.0.dist-info/METADATA",
       "Metadata-Version: 2.1\nName: hello-cenv\nVersion: 1.0\n"},
      {"hello_cenv-1.0.dist-info/WHEEL",
       "Wheel-Version: 1.0\nGenerator: cenv-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
      {"hello_cenv-1.0.dist-info/RECORD",
       "hello_cenv/__init__.py,,\nhello_cenv-1.0.dist-info/METADATA,,\n"
       "hello_cenv-1.0.dist-info/WHEEL,,\nhello_cenv-1.0.dist-info/RECORD,,\n"},
  };
  fs::create_directories(file.parent_path());
  archive* a = archive_write_new();
  REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
  REQUIRE(archive_write_open_filename(a, file.c_str()) == ARCHIVE_OK);
  for (const auto& [path, data] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a, data.data(), data.size()) ==
            static_cast<la_ssize_t>(data.size()));
    archive_entry_free(e);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
}

TEST_CASE("requires.pip installs from the Environment's package index", "[e2e][modules][docker]") {
  CenvRunner cenv;
  const fs::path dir = cenv.home() / "project";
  const std::string port = std::to_string(free_port());
  const fs::path simple = dir / "index/www/simple/hello-cenv";
  write_wheel(simple / "hello_cenv-1.0-py3-none-any.whl");
  write_file(simple / "index.html",
             "<html><body><a href=\"hello_cenv-1.0-py3-none-any.whl\">"
             "hello_cenv-1.0-py3-none-any.whl</a></body></html>\n");
  write_file(dir / "index/cenv-module.yaml", R"(name: pypi
version: 1.0.0
services:
  simple:
    command: [busybox, httpd, -f, -p, "8080", -h, /opt/cenv/modules/pypi/www]
    ports: [{containerPort: 8080, hostPort: )" + port +
                                                 R"(, hostIP: 127.0.0.1}]
    healthCheck: {tcpPort: 8080}
)");
  write_file(dir / "index.yaml", R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: pipindex}
spec: {baseImage: "cenv/base:bookworm"}
---
apiVersion: cenv.io/v1
kind: Module
metadata: {name: pypi, namespace: pipindex}
spec:
  source: {path: index}
)");
  auto served = cenv.run("apply -f " + (dir / "index.yaml").string() + " --wait --timeout 5m");
  INFO(served.out << served.err);
  REQUIRE(served.exit_code == 0);
  auto up = cenv.run("wait svc/simple -n pipindex --for=condition=Ready --timeout=120s");
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);

  write_file(dir / "app.yaml", R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: pipapp}
spec:
  baseImage: "cenv/base:bookworm"
  pipIndex: http://127.0.0.1:)" + port +
                                   R"(/simple
---
apiVersion: cenv.io/v1
kind: Module
metadata: {name: hello, namespace: pipapp}
spec:
  requires: {pip: [hello-cenv==1.0]}
)");
  auto built = cenv.run("apply -f " + (dir / "app.yaml").string() + " --wait --timeout 10m");
  INFO(built.out << built.err);
  CHECK(built.exit_code == 0);
  auto imported =
      cenv.run("run -n pipapp -- python3 -c 'import hello_cenv; print(hello_cenv.GREETING)'");
  INFO(imported.out << imported.err);
  CHECK(imported.exit_code == 0);
  CHECK(imported.out == "hello from the index\n");

  // An index URL with credentials is refused, naming the field.
  write_file(dir / "creds.yaml", R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: pipapp}
spec: {pipIndex: "http://user:secret@127.0.0.1/simple"}
)");
  auto creds = cenv.run("apply -f " + (dir / "creds.yaml").string());
  CHECK(creds.exit_code != 0);
  CHECK(has(creds.err, "spec.pipIndex"));

  CHECK(cenv.run("delete env pipapp").exit_code == 0);
  CHECK(cenv.run("delete env pipindex").exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
