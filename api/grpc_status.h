#pragma once
// The one mapping between cenv Status codes and gRPC status codes (DESIGN section 3), used by
// the server (Status -> grpc::Status) and the client (grpc::Status -> Status).
// Field errors travel in the gRPC error details as "path\tmessage" lines.

#include <grpcpp/support/status.h>

#include "api/status.h"

namespace cenv {

grpc::Status to_grpc(const Status& status);
Status from_grpc(const grpc::Status& status);

}  // namespace cenv
