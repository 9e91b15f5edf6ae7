#include "api/grpc_status.h"

#include <algorithm>
#include <sstream>
#include <string>

namespace cenv {

namespace {

// gRPC carries the message and the details in the response's trailers, and a peer refuses
// trailers over 8 KiB in all ("received initial metadata size exceeds limit", which would
// replace the real error): a longer text keeps its first whole lines and says how many more
// there were.
std::string capped(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = text.rfind('\n', limit);
  if (cut == std::string::npos || cut == 0) cut = limit;
  size_t more = static_cast<size_t>(
      std::count(text.begin() + static_cast<std::ptrdiff_t>(cut), text.end(), '\n'));
  if (text.back() == '\n') --more;  // each remaining line follows one of the newlines
  text.resize(cut);
  text += "\n... and " + std::to_string(more) + " more line" + (more == 1 ? "" : "s");
  return text;
}

}  // namespace

grpc::Status to_grpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case Code::kOk:
      return grpc::Status::OK;
    case Code::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case Code::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case Code::kConflict:
      code = grpc::StatusCode::ABORTED;
      break;
    case Code::kInvalid:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case Code::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case Code::kForbidden:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case Code::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case Code::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case Code::kGone:
      code = grpc::StatusCode::OUT_OF_RANGE;
      break;
    case Code::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case Code::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  std::string details;
  for (const auto& f : s.fields()) {
    details += f.path;
    details += '\t';
    details += f.message;
    details += '\n';
  }
  return grpc::Status(code, capped(s.message(), kMaxStatusMessageBytes),
                      capped(std::move(details), kMaxStatusDetailsBytes));
}

Status from_grpc(const grpc::Status& g) {
  if (g.ok()) return Status::Ok();
  Code code = Code::kInternal;
  std::string message = g.error_message();
  switch (g.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      code = Code::kNotFound;
      break;
    case grpc::StatusCode::ALREADY_EXISTS:
      code = Code::kAlreadyExists;
      break;
    case grpc::StatusCode::ABORTED:
      code = Code::kConflict;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = Code::kInvalid;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = Code::kUnauthenticated;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = Code::kForbidden;
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      code = Code::kFailedPrecondition;
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = Code::kUnavailable;
      break;
    case grpc::StatusCode::OUT_OF_RANGE:
      code = Code::kGone;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = Code::kResourceExhausted;
      break;
    default:
      code = Code::kInternal;
      break;
  }
  std::vector<FieldError> fields;
  std::istringstream in(g.error_details());
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    fields.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return Status(code, message, std::move(fields));
}

}  // namespace cenv
