// Deleting an Environment as a user meets it: a large namespace empties in the background
// while `cenv delete` waits, and nothing new enters a namespace being deleted.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

// Writes Environment `ns` and `modules` Modules in it (Modules hold no container) to a file in
// the runner's home; `extra_meta` goes into each Module's metadata. Returns the path.
std::string write_modules(const CenvRunner& cenv, const std::string& ns, int modules,
                          const std::string& extra_meta = "") {
  std::filesystem::path path = cenv.home() / (ns + ".yaml");
  std::ofstream out(path);
  out << "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: " << ns << "}\nspec: {}\n";
  for (int i = 0; i < modules; ++i) {
    out << "---\napiVersion: cenv.io/v1\nkind: Module\nmetadata:\n  name: m" << i
        << "\n  namespace: " << ns << "\n"
        << extra_meta << "spec: {install: \"true\"}\n";
  }
  return path.string();
}

TEST_CASE("an Environment of 2,000 Modules goes in the background while delete waits",
          "[e2e][namespace]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f " + write_modules(cenv, "big", 1999)).exit_code == 0);
  auto del = cenv.run("delete environment big");
  INFO(del.err);
  CHECK(del.exit_code == 0);
  CHECK(has(del.out, "environment \"big\" deleted"));
  auto env = cenv.run("get environment big");
  CHECK(env.exit_code == 1);
  CHECK(has(env.err, "not found"));
  CHECK(cenv.run("get modules -n big -o name").out.empty());
}

TEST_CASE("a namespace being deleted refuses new objects, and what is there still changes",
          "[e2e][namespace]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f " +
                   write_modules(cenv, "leaving", 1, "  finalizers: [example.com/hold]\n"))
              .exit_code == 0);
  REQUIRE(cenv.run("delete env leaving --no-wait").exit_code == 0);

  auto late = cenv.run("create -f -", R"(
apiVersion: cenv.io/v1
kind: Module
metadata: {name: late, namespace: leaving}
spec: {install: "true"}
)");
  CHECK(late.exit_code == 1);
  CHECK(has(late.err,
            "modules \"late\" is forbidden: unable to create new content in namespace "
            "leaving because it is being terminated"));
  CHECK(cenv.run("get module late -n leaving").exit_code == 1);

  // The Module that holds the namespace is updated, then lets it go.
  auto labelled =
      cenv.run("patch module m0 -n leaving -p '{\"metadata\":{\"labels\":{\"stage\":\"last\"}}}'");
  INFO(labelled.err);
  CHECK(labelled.exit_code == 0);
  REQUIRE(cenv.run("patch module m0 -n leaving --type json "
                   "-p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'")
              .exit_code == 0);
  auto gone = cenv.run("wait env/leaving --for=delete --timeout=60s");
  INFO(gone.err);
  CHECK(gone.exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
