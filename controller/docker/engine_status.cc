#include "controller/docker/engine_status.h"

#include <boost/json.hpp>

namespace cenv::docker {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string engine_error_message(unsigned http_status, std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* m = v.as_object().if_contains("message"); m && m->is_string()) {
      return std::string(m->as_string());
    }
  }
  std::string_view text = trim(body);
  if (text.empty()) return "HTTP " + std::to_string(http_status);
  constexpr size_t kMax = 1024;
  if (text.size() > kMax) return std::string(text.substr(0, kMax)) + "...";
  return std::string(text);
}

Status status_from_http(unsigned http_status, std::string_view body, ConflictMeans conflict) {
  if ((http_status >= 200 && http_status < 300) || http_status == 304) return Status::Ok();
  std::string message = engine_error_message(http_status, body);
  switch (http_status) {
    case 400:
      return Status::Invalid(std::move(message));
    case 401:
      return Status::Unauthenticated(std::move(message));
    case 403:
      return Status::Forbidden(std::move(message));
    case 404:
      return Status::NotFound(std::move(message));
    case 409:
      return conflict == ConflictMeans::kAlreadyExists ? Status::AlreadyExists(std::move(message))
                                                       : Status::Conflict(std::move(message));
    case 503:
      return Status::Unavailable(std::move(message));
    default:
      if (http_status >= 400 && http_status < 500) return Status::Invalid(std::move(message));
      return Status::Internal(std::move(message));
  }
}

}  // namespace cenv::docker
