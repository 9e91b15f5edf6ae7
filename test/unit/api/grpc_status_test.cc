// The Status <-> gRPC mapping: long errors still reach the client as errors.

#include "api/grpc_status.h"

#include <catch2/catch.hpp>
#include <string>

namespace cenv {
namespace {

TEST_CASE("a long error keeps its first whole lines and counts the rest", "[grpc_status]") {
  std::string message;
  for (int i = 1; i <= 2000; ++i) {
    message += "a.yaml (document " + std::to_string(i) + "): Service \"s\": spec: Required value";
    if (i < 2000) message += "\n";
  }
  Status invalid = Status::Invalid(message);
  grpc::Status g = to_grpc(invalid);
  CHECK(g.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  const std::string& sent = g.error_message();
  CHECK(sent.size() <= kMaxStatusMessageBytes + 40);
  CHECK(sent.starts_with("a.yaml (document 1): Service \"s\": spec: Required value\n"));
  const size_t kept = static_cast<size_t>(std::count(sent.begin(), sent.end(), '\n'));
  CHECK(sent.ends_with("\n... and " + std::to_string(2000 - kept) + " more lines"));
  // Every kept line is whole.
  std::string last_kept = sent.substr(0, sent.rfind("\n... and"));
  CHECK(last_kept.ends_with("spec: Required value"));
  CHECK(from_grpc(g).code() == Code::kInvalid);

  // Short messages pass as they are.
  CHECK(to_grpc(Status::Invalid("one line")).error_message() == "one line");
}

}  // namespace
}  // namespace cenv
