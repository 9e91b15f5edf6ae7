// $CENV_HOME/config.yaml: what parses, what is refused and why, and that what is written reads
// back the same.

#include "cli/context_config.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

namespace cenv::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOneContext = R"(current-context: prod
contexts:
- name: prod
  server: cenv.example.com:7443
  certificate-authority: /c/ca.crt
  client-certificate: /c/admin.crt
  client-key: /c/admin.key
)";

// A config with one context whose `field` line is replaced by `line` ("" drops it).
std::string with_line(const std::string& field, const std::string& line) {
  std::string text = kOneContext;
  size_t at = text.find(field + ":");
  REQUIRE(at != std::string::npos);
  size_t end = text.find('\n', at);
  text.replace(at, end - at + 1, line.empty() ? "" : line + "\n");
  return text;
}

TEST_CASE("config.yaml parses a context with its server and absolute paths", "[cli][context]") {
  auto config = ContextConfig::parse(kOneContext, "config.yaml");
  REQUIRE(config.ok());
  CHECK(config->current_context == "prod");
  REQUIRE(config->contexts.size() == 1);
  const RemoteContext& c = config->contexts[0];
  CHECK(c.name == "prod");
  CHECK(c.server == "cenv.example.com:7443");
  CHECK(c.certificate_authority == "/c/ca.crt");
  CHECK(c.client_certificate == "/c/admin.crt");
  CHECK(c.client_key == "/c/admin.key");
  CHECK(config->find("prod") == &config->contexts[0]);
  CHECK(config->find("local") == nullptr);
}

TEST_CASE("config.yaml: an empty file or no contexts is the local context alone",
          "[cli][context]") {
  for (const char* text : {"", "contexts: []\n", "current-context: local\n"}) {
    INFO(text);
    auto config = ContextConfig::parse(text, "config.yaml");
    REQUIRE(config.ok());
    CHECK(config->contexts.empty());
  }
}

TEST_CASE("config.yaml refuses bad contexts, naming the field", "[cli][context]") {
  struct Row {
    std::string text;
    std::string error;
  };
  const std::vector<Row> rows = {
      {with_line("  server", ""), "contexts[0].server: a non-empty string is required"},
      {with_line("  server", "  server: cenv.example.com"), "expected HOST:PORT"},
      {with_line("  server", "  server: host:0"), "expected HOST:PORT"},
      {with_line("  server", "  server: host:70000"), "expected HOST:PORT"},
      {with_line("  server", "  server: ::1:7443"), "expected HOST:PORT"},
      {with_line("  client-key", "  client-key: admin.key"),
       "contexts[0].client-key: \"admin.key\" is not an absolute path"},
      {with_line("  certificate-authority", ""),
       "contexts[0].certificate-authority: a non-empty string is required"},
      {with_line("- name", "- name: local"), "\"local\" is built in"},
      {with_line("- name", "- name: -x"), "a context name has letters"},
      {with_line("- name", "- name: a b"), "a context name has letters"},
      {with_line("current-context", "current-context: staging"), "no context \"staging\""},
      {with_line("current-context", "color: blue"), "unknown field \"color\""},
      {with_line("  client-key", "  client-key: /k\n  token: x"), "unknown field \"token\""},
      {std::string(kOneContext) + "- name: prod\n  server: h:1\n  certificate-authority: /a\n"
                                  "  client-certificate: /b\n  client-key: /c\n",
       "contexts[1].name: \"prod\" is defined twice"},
      {"contexts: {}\n", "contexts: a list is required"},
      {"- a\n", "a mapping is required"},
      {"contexts: [\n", "config.yaml"},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    auto config = ContextConfig::parse(row.text, "config.yaml");
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == Code::kInvalid);
    CHECK_THAT(config.status().message(), Catch::Contains(row.error));
    CHECK_THAT(config.status().message(), Catch::StartsWith("config.yaml"));
  }
}

TEST_CASE("server_host takes the host of HOST:PORT, IPv6 in brackets", "[cli][context]") {
  struct Row {
    const char* server;
    const char* host;  // nullptr: refused
  };
  const std::vector<Row> rows = {
      {"cenv.example.com:7443", "cenv.example.com"},
      {"127.0.0.1:1", "127.0.0.1"},
      {"[::1]:7443", "::1"},
      {"[]:7443", nullptr},
      {":7443", nullptr},
      {"host:", nullptr},
      {"host:x1", nullptr},
      {"host", nullptr},
  };
  for (const auto& row : rows) {
    INFO(row.server);
    auto host = server_host(row.server);
    CHECK(host.ok() == (row.host != nullptr));
    if (row.host && host.ok()) CHECK(host.value() == row.host);
  }
}

TEST_CASE("config.yaml is written with mode 0600 and reads back the same", "[cli][context]") {
  std::string tmpl = (fs::temp_directory_path() / "cenv-config-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  const fs::path file = fs::path(tmpl) / "config.yaml";
  auto missing = ContextConfig::load(file);
  REQUIRE(missing.ok());
  CHECK(missing->contexts.empty());

  auto config = ContextConfig::parse(kOneContext, "config.yaml");
  REQUIRE(config.ok());
  REQUIRE(config->save(file).ok());
  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = ContextConfig::load(file);
  REQUIRE(loaded.ok());
  CHECK(loaded->current_context == "prod");
  CHECK(loaded->contexts == config->contexts);
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace cenv::cli
