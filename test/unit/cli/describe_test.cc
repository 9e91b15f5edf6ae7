// What `cenv describe` prints for people: text an object or its events carry cannot move the
// cursor, clear the screen or hide lines in the terminal.

#include <catch2/catch.hpp>
#include <sstream>

#include "api/clock.h"
#include "cli/describe_cmd.h"

namespace cenv::cli {
namespace {

namespace json = boost::json;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));

TEST_CASE("describe: conditions, events and annotations are escaped for the terminal",
          "[describe]") {
  Object svc(json::parse(R"({"apiVersion": "cenv.io/v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "dev", "uid": "u1",
                 "annotations": {"note": "a\u001b[2Jb"}},
    "spec": {"image": "x"},
    "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed",
                               "lastTransitionTime": "2024-01-01T00:00:00Z",
                               "message": "bad\u001b]0;title\u0007 line\nnext"}]}})")
                 .as_object());
  Object event(json::parse(R"({"apiVersion": "cenv.io/v1", "kind": "Event",
    "metadata": {"name": "e1", "namespace": "dev"}, "type": "Warning", "reason": "Odd",
    "lastTimestamp": "2024-01-01T00:00:00Z", "source": {"component": "cenv-controller"},
    "message": "x\r\u001b[1Ay"})")
                   .as_object());
  std::ostringstream out;
  describe_object(svc, {event}, kNow, out);
  std::string text = out.str();
  INFO(text);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("note=a\\x1b[2Jb") != std::string::npos);
  CHECK(text.find("bad\\x1b]0;title\\x07 line\\nnext") != std::string::npos);
  CHECK(text.find("x\\r\\x1b[1Ay") != std::string::npos);
  CHECK(text.find("  Ready  False   Failed") != std::string::npos);
}

}  // namespace
}  // namespace cenv::cli
