#pragma once
// The one mapping between cenv Status codes and gRPC status codes (DESIGN section 3), used by
// the server (Status -> grpc::Status) and the client (grpc::Status -> Status).
// Field errors travel in the gRPC error details as "path\tmessage" lines.

#include <grpcpp/support/status.h>

#include <cstddef>

#include "api/status.h"

namespace cenv {

// A message or details longer than these keep their first whole lines and end with
// "... and N more lines": gRPC peers refuse trailers over 8 KiB in all.
inline constexpr size_t kMaxStatusMessageBytes = 4096;
inline constexpr size_t kMaxStatusDetailsBytes = 2048;

grpc::Status to_grpc(const Status& status);
Status from_grpc(const grpc::Status& status);

}  // namespace cenv
