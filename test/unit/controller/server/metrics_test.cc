// Metrics::render(): HELP and TYPE for every family, labels escaped, histograms as Prometheus
// reads them, the standard process_* metrics, and an exposition `promtool check metrics`
// accepts.

#include "controller/server/metrics.h"

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "controller/server/process_stats.h"
#include "test/temp_dir.h"

namespace cenv {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of the line `series` ("name{labels}") in `text`; -1 when absent.
double series_value(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// A Metrics with one family of each type and a gauge, as the controller has them.
void fill(Metrics& m) {
  m.observe_call("Apply", Code::kOk, std::chrono::milliseconds(3));
  m.observe_call("Get", Code::kNotFound, std::chrono::microseconds(200));
  auto& r = m.registry();
  r.counter("cenv_reconcile_total", "Reconciles.", {"controller", "kind", "result"})
      .with({"service", "Service", "success"})
      .inc(2);
  r.gauge("cenv_workqueue_depth", "Keys ready.", {"name"}).with({"service"}).set(4);
  r.counter("cenv_log_bytes_total", "Bytes stored.").with({}).inc(10);
  m.add_gauge("cenv_watchers", "Watches currently open.", [] { return 3.0; });
}

TEST_CASE("metrics: every family is written with HELP and TYPE and its samples",
          "[metrics][server]") {
  Metrics m;
  fill(m);
  std::string text = "\n" + m.render();
  CHECK(has(text,
            "\n# HELP cenv_reconcile_total Reconciles.\n# TYPE cenv_reconcile_total counter\n"
            "cenv_reconcile_total{controller=\"service\",kind=\"Service\",result=\"success\"}"
            " 2\n"));
  CHECK(
      has(text, "\n# TYPE cenv_workqueue_depth gauge\ncenv_workqueue_depth{name=\"service\"} 4\n"));
  CHECK(series_value(text, "cenv_log_bytes_total") == 10);
  CHECK(series_value(text, "cenv_watchers") == 3);
  CHECK(series_value(text, "cenv_api_requests_total{call=\"Apply\",code=\"ok\"}") == 1);
  CHECK(series_value(text, "cenv_api_requests_total{call=\"Get\",code=\"not found\"}") == 1);
  CHECK(has(text, "\n# TYPE cenv_api_request_seconds histogram\n"));
  // 3 ms: not in the 2.5 ms bucket, in the 5 ms one; count and sum follow.
  CHECK(series_value(text, "cenv_api_request_seconds_bucket{call=\"Apply\",le=\"0.0025\"}") == 0);
  CHECK(series_value(text, "cenv_api_request_seconds_bucket{call=\"Apply\",le=\"0.005\"}") == 1);
  CHECK(series_value(text, "cenv_api_request_seconds_bucket{call=\"Apply\",le=\"+Inf\"}") == 1);
  CHECK(series_value(text, "cenv_api_request_seconds_count{call=\"Apply\"}") == 1);
  CHECK(series_value(text, "cenv_api_request_seconds_sum{call=\"Apply\"}") == Approx(0.003));
  // A family is written once, however many children it has.
  size_t first = text.find("# TYPE cenv_api_requests_total");
  CHECK(text.find("# TYPE cenv_api_requests_total", first + 1) == std::string::npos);
}

TEST_CASE("metrics: label values and help text are escaped", "[metrics][server]") {
  Metrics m;
  m.registry()
      .counter("cenv_odd_total", "Back\\slash and\nnewline.", {"v"})
      .with({"a\"b\\c\nd"})
      .inc();
  std::string text = m.render();
  CHECK(has(text, "# HELP cenv_odd_total Back\\\\slash and\\nnewline.\n"));
  CHECK(has(text, "cenv_odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST_CASE("metrics: the process metrics are present and sane", "[metrics][server]") {
  auto stats = read_process_stats();
  REQUIRE(stats.ok());
  const ProcessStats& p = stats.value();
  CHECK(p.cpu_seconds >= 0);
  CHECK(p.resident_bytes > 1024 * 1024);  // a test binary holds more than a megabyte
  CHECK(p.virtual_bytes >= p.resident_bytes);
  CHECK(p.open_fds >= 3);  // stdin, stdout, stderr
  CHECK(p.max_fds >= p.open_fds);
  double now = static_cast<double>(std::time(nullptr));
  CHECK(p.start_time_seconds <= now + 1);
  CHECK(p.start_time_seconds > now - 24 * 3600);

  // One more open file is one more descriptor.
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  REQUIRE(f != nullptr);
  auto more = read_process_stats();
  std::fclose(f);
  REQUIRE(more.ok());
  CHECK(more->open_fds == p.open_fds + 1);

  std::string text = "\n" + Metrics().render();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    INFO(name);
    CHECK(has(text, std::string("\n# HELP ") + name + " "));
    CHECK(series_value(text, name) >= 0);
  }
  CHECK(has(text, "\n# TYPE process_cpu_seconds_total counter\n"));
  CHECK(series_value(text, "process_start_time_seconds") == Approx(p.start_time_seconds));
}

TEST_CASE("metrics: reading the process stats of a missing /proc folder fails naming it",
          "[metrics][server]") {
  auto stats = read_process_stats("/nonexistent/self");
  REQUIRE_FALSE(stats.ok());
  CHECK(stats.status().code() == Code::kUnavailable);
  CHECK(has(stats.status().message(), "/nonexistent/self/stat"));
}

// Runs `promtool check metrics` on `exposition`; returns its exit code and output.
std::pair<int, std::string> promtool_check(const std::string& exposition) {
  testing::TempDir dir("cenv-metrics");
  std::ofstream(dir.path() / "metrics.txt") << exposition;
  std::string cmd = "promtool check metrics < '" + (dir.path() / "metrics.txt").string() + "' > '" +
                    (dir.path() / "out.txt").string() + "' 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(dir.path() / "out.txt");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_CASE("metrics: promtool check metrics accepts the exposition", "[metrics][server]") {
  // scripts/setup installs promtool (package prometheus).
  REQUIRE(std::system("command -v promtool >/dev/null") == 0);
  Metrics m;
  fill(m);
  m.registry()
      .histogram("cenv_reconcile_duration_seconds", "How long reconciles took.",
                 {"controller", "kind"})
      .with({"service", "Service"})
      .observe(0.02);
  auto [code, out] = promtool_check(m.render());
  INFO(out);
  CHECK(code == 0);
  CHECK(out.empty());
  // And it can fail: a counter without _total is a lint problem.
  auto [bad_code, bad_out] = promtool_check(
      "# HELP cenv_things Things.\n"
      "# TYPE cenv_things counter\ncenv_things 1\n");
  INFO(bad_out);
  CHECK(bad_code != 0);
}

}  // namespace
}  // namespace cenv
