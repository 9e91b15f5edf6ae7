#include "controller/docker/engine_status.h"

#include <catch2/catch.hpp>

namespace cenv::docker {
namespace {

TEST_CASE("status_from_http maps Docker's answers to codes and keeps Docker's message") {
  struct Row {
    unsigned http;
    const char* body;
    ConflictMeans conflict;
    Code code;
    const char* message;
  };
  const Row rows[] = {
      {200, "{}", ConflictMeans::kConflict, Code::kOk, ""},
      {201, R"({"Id":"x"})", ConflictMeans::kConflict, Code::kOk, ""},
      {204, "", ConflictMeans::kConflict, Code::kOk, ""},
      {304, "", ConflictMeans::kConflict, Code::kOk, ""},
      {400, R"({"message":"invalid reference format"})", ConflictMeans::kConflict, Code::kInvalid,
       "invalid reference format"},
      {401, R"({"message":"unauthorized"})", ConflictMeans::kConflict, Code::kUnauthenticated,
       "unauthorized"},
      {403, R"({"message":"network x has active endpoints"})", ConflictMeans::kConflict,
       Code::kForbidden, "network x has active endpoints"},
      {404, R"({"message":"No such image: nope:latest"})", ConflictMeans::kConflict,
       Code::kNotFound, "No such image: nope:latest"},
      {409, R"({"message":"Conflict. The container name \"/a\" is already in use"})",
       ConflictMeans::kAlreadyExists, Code::kAlreadyExists,
       "Conflict. The container name \"/a\" is already in use"},
      {409, R"({"message":"Container abc is not running"})", ConflictMeans::kConflict,
       Code::kConflict, "Container abc is not running"},
      {422, R"({"message":"odd"})", ConflictMeans::kConflict, Code::kInvalid, "odd"},
      {500, R"({"message":"driver failed"})", ConflictMeans::kConflict, Code::kInternal,
       "driver failed"},
      {503, R"({"message":"shutting down"})", ConflictMeans::kConflict, Code::kUnavailable,
       "shutting down"},
      {500, "  plain text error\n", ConflictMeans::kConflict, Code::kInternal, "plain text error"},
      {502, "", ConflictMeans::kConflict, Code::kInternal, "HTTP 502"},
      {404, R"({"other":"field"})", ConflictMeans::kConflict, Code::kNotFound,
       R"({"other":"field"})"},
  };
  for (const Row& row : rows) {
    INFO("HTTP " << row.http << " " << row.body);
    Status s = status_from_http(row.http, row.body, row.conflict);
    CHECK(s.code() == row.code);
    CHECK(s.message() == row.message);
  }
}

TEST_CASE("engine_error_message bounds a long non-JSON body") {
  std::string body(5000, 'e');
  std::string m = engine_error_message(500, body);
  CHECK(m.size() == 1024 + 3);
  CHECK(m.ends_with("..."));
}

}  // namespace
}  // namespace cenv::docker
