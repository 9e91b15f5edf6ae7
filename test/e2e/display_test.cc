// User text in messages: control characters a user typed come back escaped ("\x01", "\n"),
// never raw, so an error stays one readable line.

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("control characters in a kind or a name are escaped in the error", "[e2e]") {
  CenvRunner cenv;
  // An unknown kind is refused by the CLI itself (no controller needed).
  auto kind = cenv.run("get \"$(printf 'sv\\001c')\"");
  CHECK(kind.exit_code != 0);
  CHECK(has(kind.err, "sv\\x01c"));
  CHECK_FALSE(has(kind.err, "\x01"));

  auto newline = cenv.run("get \"$(printf 'ab\\ncd')\"");
  CHECK(newline.exit_code != 0);
  CHECK(has(newline.err, "ab\\ncd"));
  // One error line, not one per line of the user's text.
  CHECK_FALSE(has(newline.err, "\ncd"));

  // A name with a control character is refused, and the refusal shows it escaped.
  auto name = cenv.run("get svc \"$(printf 'we\\033[2Jb')\"");
  CHECK(name.exit_code != 0);
  CHECK_FALSE(has(name.err, "\x1b"));
}

TEST_CASE("apply --dry-run=client shows a file name with control characters escaped", "[e2e]") {
  CenvRunner cenv;
  // A manifest whose file name holds ESC and a newline, and whose object is invalid: the
  // error names the file, escaped, on one line.
  const std::string file = (cenv.home() / "bad\x1b[2J\nname.yaml").string();
  {
    std::ofstream out(file);
    out << "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {name: Bad_Name}\nspec: {}\n";
  }
  auto r = cenv.run("apply --dry-run=client -f '" + file + "'");
  CHECK(r.exit_code != 0);
  CHECK(has(r.err, "bad\\x1b[2J\\nname.yaml"));
  CHECK_FALSE(has(r.err, "\x1b"));
  CHECK_FALSE(has(r.err, "\nname.yaml"));
}

}  // namespace
}  // namespace cenv::e2e
