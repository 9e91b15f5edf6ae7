// CommandRuns of an Environment with spec.runtime swarm on a real single-node swarm (the bed of
// swarm_bed.h): each attempt is a one-shot swarm service whose output (stdout and stderr apart,
// an unfinished last line too) is stored from the service's logs, whose exit code is its
// task's, and which is removed once the run is concluded.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "api/conditions.h"
#include "test/integration/swarm/swarm_bed.h"

namespace cenv {
namespace {

using testing::eventually;

std::string phase(const Object& o) {
  return o.status_or_null() ? std::string(Object::str_field(*o.status_or_null(), "phase")) : "";
}

int64_t status_int(const Object& o, std::string_view field) {
  const auto* v = o.status_or_null() ? o.status_or_null()->if_contains(field) : nullptr;
  return v && v->is_number() ? v->to_number<int64_t>() : -1;
}

// The run's stored output of `stream`.
std::string stored(testing::SwarmBed& bed, const Object& run, LogStream stream) {
  auto chunks = bed.f.store->read_log(std::string(run.uid()), 0, 1 << 20);
  REQUIRE(chunks.ok());
  std::string out;
  for (const auto& c : *chunks) {
    if (c.stream == stream) out += c.data;
  }
  return out;
}

TEST_CASE(
    "integration swarm: a CommandRun runs as a one-shot swarm service - its output and "
    "exit code are stored - the service is removed",
    "[integration][commandrun][swarm]") {
  testing::SwarmBed bed;
  bed.f.create(
      "CommandRun", bed.ns, "hello",
      boost::json::object{
          {"command",
           boost::json::array{"sh", "-c", "echo out; echo err >&2; sleep 1; printf partial"}}});
  bed.f.create("CommandRun", bed.ns, "fails",
               boost::json::object{{"command", boost::json::array{"sh", "-c", "exit 3"}}});
  // While it runs, its attempt is a swarm service that is never restarted.
  REQUIRE(eventually(
      [&] {
        auto s = bed.services_of("CommandRun", "hello");
        return s.size() == 1 || phase(bed.get("CommandRun", bed.ns, "hello")) == "Succeeded";
      },
      std::chrono::seconds(60)));
  REQUIRE(eventually(
      [&] {
        return phase(bed.get("CommandRun", bed.ns, "hello")) == "Succeeded" &&
               phase(bed.get("CommandRun", bed.ns, "fails")) == "Failed";
      },
      std::chrono::seconds(120)));
  Object hello = bed.get("CommandRun", bed.ns, "hello");
  CHECK(stored(bed, hello, LogStream::kStdout) == "out\npartial");
  CHECK(stored(bed, hello, LogStream::kStderr) == "err\n");
  CHECK(status_int(hello, "exitCode") == 0);
  CHECK(status_int(hello, "logBytes") == 15);
  Object fails = bed.get("CommandRun", bed.ns, "fails");
  CHECK(status_int(fails, "exitCode") == 3);
  auto failed = get_condition(fails, "Failed");
  REQUIRE(failed);
  CHECK(failed->reason == "NonZeroExit");
  // Concluded: their services go.
  REQUIRE(eventually(
      [&] {
        return bed.services_of("CommandRun", "hello").empty() &&
               bed.services_of("CommandRun", "fails").empty();
      },
      std::chrono::seconds(60)));
}

}  // namespace
}  // namespace cenv
