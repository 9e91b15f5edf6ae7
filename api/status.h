#pragma once
// Status and Result<T>: the error model of every cenv library (CONVENTIONS "Errors").
// No exception crosses a library boundary; failures travel as values.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cenv {

// One failing field: `path` is a field path such as "spec.ports[0].containerPort".
struct FieldError {
  std::string path;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

enum class Code {
  kOk,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kInvalid,
  kUnauthenticated,
  kForbidden,
  kFailedPrecondition,
  kUnavailable,
  kGone,
  kResourceExhausted,  // a limit of api/limits.h (too many watches, too large a request)
  kInternal,
};

// Returns the stable lower-case name of a code ("not found", "conflict", ...).
const char* code_name(Code code);

// A value type: ok, or a code with a message and (for kInvalid) every failing field.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::vector<FieldError> fields = {})
      : code_(code), message_(std::move(message)), fields_(std::move(fields)) {}

  static Status Ok() { return {}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Invalid(std::string m, std::vector<FieldError> f = {}) {
    return {Code::kInvalid, std::move(m), std::move(f)};
  }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status Forbidden(std::string m) { return {Code::kForbidden, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Gone(std::string m) { return {Code::kGone, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldError>& fields() const { return fields_; }

  // "message" followed by one "path: message" line per field error.
  std::string to_string() const;

  // Returns a copy whose message is "prefix: message" (fields kept).
  Status with_prefix(const std::string& prefix) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::vector<FieldError> fields_;
};

// Either a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cenv

// Propagates a non-ok Status from an expression that yields Status.
#define CENV_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::cenv::Status cenv_status_ = (expr);        \
    if (!cenv_status_.ok()) return cenv_status_; \
  } while (0)
