#pragma once
// Maps the Docker Engine's HTTP answers to cenv Status codes (see DockerClient's conventions).

#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv::docker {

// What a 409 means for the call: most calls report a state conflict, creates report a name
// already in use.
enum class ConflictMeans { kConflict, kAlreadyExists };

// Docker's error text from a response body: the JSON "message" field, else the body itself
// (trimmed, at most 1 KiB), else "HTTP <status>".
std::string engine_error_message(unsigned http_status, std::string_view body);

// 2xx and 304 (already started / already stopped) -> Ok; 400 -> Invalid; 401 ->
// Unauthenticated; 403 -> Forbidden; 404 -> NotFound; 409 -> Conflict or AlreadyExists;
// 503 -> Unavailable; other 4xx -> Invalid; other 5xx -> Internal. The message is Docker's.
Status status_from_http(unsigned http_status, std::string_view body,
                        ConflictMeans conflict = ConflictMeans::kConflict);

}  // namespace cenv::docker
