// `cenv get svc -o wide` on an Environment with spec.runtime swarm, as a user runs it, against
// a real single-node swarm: a 3-replica Service shows 3 running of 3 desired replicas and the
// node they run on. The swarm is made for the test only when the engine is in none, and left
// at the end only then (test/swarm_guard.h). Everything the test's controller creates carries
// its runner's label and is removed at the end.

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test/e2e/cenv_runner.h"
#include "test/swarm_guard.h"

namespace cenv::e2e {
namespace {

// Removes the swarm services carrying `label` (before the runner removes their network).
struct SwarmServiceCleanup {
  std::string label;
  ~SwarmServiceCleanup() {
    shell("docker service ls -q --filter label=" + label +
          " | xargs -r docker service rm >/dev/null 2>&1");
  }
};

std::string manifest(const std::string& ns) {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + ns +
         "\nspec:\n  baseImage: cenv/base:bookworm\n  runtime: swarm\n"
         "---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web\n  namespace: " +
         ns +
         "\nspec:\n  replicas: 3\n  command: [sh, -c]\n"
         "  args: [\"trap 'exit 0' TERM; while :; do sleep 0.2; done\"]\n";
}

// The cells of the row whose first cell is `name`, by the header's column names.
std::vector<std::pair<std::string, std::string>> row(const std::string& table,
                                                     const std::string& name) {
  std::istringstream lines(table);
  std::string header, line;
  std::getline(lines, header);
  std::vector<std::string> columns, cells;
  std::istringstream h(header);
  for (std::string c; h >> c;) columns.push_back(c);
  while (std::getline(lines, line)) {
    std::istringstream l(line);
    cells.clear();
    for (std::string c; l >> c;) cells.push_back(c);
    if (!cells.empty() && cells[0] == name) break;
    cells.clear();
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < columns.size() && i < cells.size(); ++i) {
    out.emplace_back(columns[i], cells[i]);
  }
  return out;
}

std::string cell(const std::vector<std::pair<std::string, std::string>>& r,
                 const std::string& column) {
  for (const auto& [c, v] : r) {
    if (c == column) return v;
  }
  return "";
}

TEST_CASE("get svc -o wide on runtime swarm shows 3/3 replicas and their node",
          "[e2e][service][swarm]") {
  testing::SwarmGuard swarm;
  CenvRunner cenv;
  SwarmServiceCleanup services{cenv.label()};
  std::random_device rd;
  std::string ns = "e2e-swarm-" + std::to_string(rd() % 1000000);
  std::string node = shell("docker info --format '{{.Name}}'");
  while (!node.empty() && node.back() == '\n') node.pop_back();
  REQUIRE(!node.empty());

  auto applied = cenv.run("apply -f -", manifest(ns));
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  auto waited = cenv.run("wait svc/web -n " + ns + " --for=condition=Ready --timeout=120s");
  INFO(waited.out << waited.err);
  REQUIRE(waited.exit_code == 0);

  // Ready means every replica runs; the status may trail the swarm by a recheck.
  RunResult wide;
  std::vector<std::pair<std::string, std::string>> web;
  bool shown = eventually(
      [&] {
        wide = cenv.run("get svc -n " + ns + " -o wide");
        web = row(wide.out, "web");
        return wide.exit_code == 0 && cell(web, "REPLICAS") == "3" && cell(web, "NODES") == node;
      },
      std::chrono::seconds(60));
  INFO(wide.out << wide.err);
  REQUIRE(shown);
  CHECK(cell(web, "DESIRED") == "3");
  CHECK(cell(web, "PHASE") == "Ready");
  // Without -o wide the swarm columns stay out of the way.
  auto narrow = cenv.run("get svc -n " + ns);
  CHECK_FALSE(has(narrow.out, "NODES"));

  auto deleted = cenv.run("delete env " + ns + " --timeout=120s");
  INFO(deleted.out << deleted.err);
  CHECK(deleted.exit_code == 0);
  CHECK(shell("docker service ls -q --filter label=" + cenv.label()).empty());
}

}  // namespace
}  // namespace cenv::e2e
