// GET /metrics end to end: a controller started as a user starts it runs a command (`cenv run`,
// a CommandRun reconciled into a real container); its exposition then shows the reconciles,
// work queue adds, Docker calls, store commits and log bytes that took, and the process
// metrics, and `promtool check metrics` (package prometheus, scripts/setup) accepts it.

#include <catch2/catch.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

// GET /metrics of the runner's controller (its address is in $CENV_HOME/run/http.addr).
std::string scrape(const CenvRunner& cenv) {
  std::string address = shell("cat '" + (cenv.home() / "run" / "http.addr").string() + "'");
  address = address.substr(0, address.find('\n'));
  REQUIRE(!address.empty());
  return shell("curl -sf http://" + address + "/metrics");
}

// The value of the sample `series` ("name{labels}" exactly as written) in `text`.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// The sum of cenv_reconcile_total over every result of the CommandRun controller.
double commandrun_reconciles(const std::string& text) {
  double sum = 0;
  for (const char* result : {"success", "error", "requeue", "requeue_after"}) {
    sum += sample(text,
                  std::string("cenv_reconcile_total{controller=\"commandrun\",kind=\"CommandRun\","
                              "result=\"") +
                      result + "\"}")
               .value_or(0);
  }
  return sum;
}

TEST_CASE("metrics show the reconciles and Docker calls a run took and pass promtool check",
          "[e2e][metrics]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  const std::string before = scrape(cenv);
  INFO(before);
  // The controller's families are there from the start.
  REQUIRE(sample(before,
                 "cenv_reconcile_total{controller=\"commandrun\",kind=\"CommandRun\","
                 "result=\"success\"}"));
  CHECK(sample(before, "cenv_log_bytes_total") == 0);

  auto run = cenv.run("run -- sh -c 'echo hello metrics'");
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out == "hello metrics\n");

  // The run's last reconcile (it completed) may land just after `cenv run` returned.
  std::string after;
  CHECK(eventually(
      [&] {
        after = scrape(cenv);
        return commandrun_reconciles(after) > commandrun_reconciles(before);
      },
      std::chrono::seconds(30)));
  INFO(after);
  CHECK(sample(after, "cenv_workqueue_adds_total{name=\"commandrun\"}").value_or(0) >= 1);
  CHECK(sample(after, "cenv_workqueue_longest_running_processor_seconds{name=\"commandrun\"}")
            .value_or(-1) >= 0);
  CHECK(sample(after,
               "cenv_reconcile_duration_seconds_count{controller=\"commandrun\","
               "kind=\"CommandRun\"}")
            .value_or(0) >= 1);
  CHECK(sample(after, "cenv_docker_requests_total{operation=\"create_container\",code=\"ok\"}")
            .value_or(0) >= 1);
  CHECK(sample(after, "cenv_docker_request_duration_seconds_count{operation=\"create_container\"}")
            .value_or(0) >= 1);
  CHECK(sample(after, "cenv_log_bytes_total").value_or(0) >= std::string("hello metrics\n").size());
  CHECK(sample(after, "cenv_store_commit_duration_seconds_count").value_or(0) >
        sample(before, "cenv_store_commit_duration_seconds_count").value_or(0));
  CHECK(has(after, "\ncenv_api_requests_total{call=\""));
  CHECK(sample(after, "process_resident_memory_bytes").value_or(0) > 0);
  CHECK(sample(after, "process_start_time_seconds").value_or(0) > 0);
  CHECK(sample(after, "process_open_fds").value_or(0) > 0);

  const std::filesystem::path file = cenv.home() / "metrics.txt";
  write_file(file, after);
  std::string lint = shell("promtool check metrics < '" + file.string() + "' 2>&1; echo rc=$?");
  INFO(lint);
  CHECK(lint == "rc=0\n");
}

}  // namespace
}  // namespace cenv::e2e
