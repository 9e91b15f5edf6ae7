// The dashboard in headless Chromium (issue 14): test/e2e/dashboard_browser.py drives the
// browser with Selenium against a controller this test starts, and applies objects with the
// same CENV_HOME and CENV_INSTANCE, so that CenvRunner removes whatever Docker objects they
// made. Screenshots of each page are kept in build/test-artifacts/dashboard/.

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, which has python3-selenium

bool browser_present() {
  return std::filesystem::exists("/usr/bin/chromium") &&
         std::filesystem::exists("/usr/bin/chromedriver") &&
         std::system((std::string(kPython) + " -c 'import selenium' >/dev/null 2>&1").c_str()) == 0;
}

TEST_CASE("the dashboard lists environments and follows a new Service and a run's output live",
          "[e2e][dashboard]") {
  if (!browser_present()) {
    WARN(
        "SKIPPED: chromium, chromium-driver or python3-selenium is not installed "
        "(scripts/setup installs them)");
    return;
  }
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  // `cenv dashboard` prints the URL of the controller's HTTP listener.
  std::string address = CenvRunner::slurp(cenv.home() / "run" / "http.addr");
  address = address.substr(0, address.find('\n'));
  auto url = cenv.run("dashboard --no-open -n shop");
  CHECK(url.exit_code == 0);
  CHECK(url.out == "http://" + address + "/ui/#/env/shop\n");
  std::random_device rd;
  const std::string ns = "e2e-ui-" + std::to_string(rd() % 1000000);
  const std::string id = cenv.label().substr(cenv.label().find('=') + 1);
  const std::filesystem::path artifacts =
      std::filesystem::path(CENV_BINARY).parent_path().parent_path() / "test-artifacts" /
      "dashboard";
  const std::filesystem::path log = cenv.home() / "browser.log";
  std::string cmd = "cd '" CENV_SOURCE_DIR "' && CENV='" CENV_BINARY "' CENV_HOME='" +
                    cenv.home().string() + "' CENV_INSTANCE='" + id + "' CENV_CONTAINER_LABELS='" +
                    cenv.label() + "' NS='" + ns + "' ARTIFACTS='" + artifacts.string() +
                    "' timeout 600 " + kPython + " test/e2e/dashboard_browser.py >'" +
                    log.string() + "' 2>&1";
  int status = std::system(cmd.c_str());
  INFO(CenvRunner::slurp(log));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(std::filesystem::exists(artifacts / "environments.png"));
  CHECK(std::filesystem::exists(artifacts / "commandrun.png"));
  // The Services' and the run's containers and the Environment's network carry the runner's
  // label: CenvRunner removes them.
}

}  // namespace
}  // namespace cenv::e2e
