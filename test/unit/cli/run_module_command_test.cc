// `cenv run MODULE:COMMAND -- ARGS` against `cenv run -- CMD ARGS`: what the positionals say.

#include <catch2/catch.hpp>

#include "cli/run_cmd.h"

namespace cenv::cli {
namespace {

using Args = std::vector<std::string>;

TEST_CASE("cenv run reads MODULE:COMMAND before -- and a plain command otherwise", "[cli][run]") {
  struct Row {
    Args positionals;
    size_t after_separator;
    bool module;
    const char* name;
    const char* command;
    Args args;
  };
  const Row rows[] = {
      {{"jq:pretty"}, 0, true, "jq", "pretty", {}},
      {{"jq:pretty", ".a", "-c"}, 2, true, "jq", "pretty", {".a", "-c"}},
      {{"json-report:report", "x"}, 1, true, "json-report", "report", {"x"}},
      {{"py:run_tests.v2"}, 0, true, "py", "run_tests.v2", {}},
      // A plain command: everything after --, or words without ':' first.
      {{"jq:pretty"}, 1, false, "", "", {}},
      {{"sh", "-c", "echo a:b"}, 3, false, "", "", {}},
      {{"echo", "a:b"}, 0, false, "", "", {}},
      {{"echo", "a:b"}, 1, false, "", "", {}},
  };
  for (const Row& r : rows) {
    INFO(r.positionals[0] << " with " << r.after_separator << " after --");
    auto got = module_command_of(r.positionals, r.after_separator);
    REQUIRE(got.ok());
    REQUIRE(got->has_value() == r.module);
    if (!r.module) continue;
    CHECK(got->value().module == r.name);
    CHECK(got->value().command == r.command);
    CHECK(got->value().args == r.args);
  }
}

TEST_CASE("cenv run refuses a malformed MODULE:COMMAND and arguments before --", "[cli][run]") {
  struct Row {
    Args positionals;
    size_t after_separator;
    const char* says;
  };
  const Row rows[] = {
      {{"Jq:pretty"}, 0, "MODULE:COMMAND"},
      {{":pretty"}, 0, "MODULE:COMMAND"},
      {{"jq:"}, 0, "MODULE:COMMAND"},
      {{"jq:pre tty"}, 0, "MODULE:COMMAND"},
      {{"/usr/bin/x:y", "z"}, 1, "cenv run -- CMD"},
      {{"jq:pretty", ".a"}, 0, "go after --"},
      {{"jq:pretty", ".a", "-c"}, 1, "go after --"},
  };
  for (const Row& r : rows) {
    INFO(r.positionals[0]);
    auto got = module_command_of(r.positionals, r.after_separator);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().message().find(r.says) != std::string::npos);
  }
}

}  // namespace
}  // namespace cenv::cli
