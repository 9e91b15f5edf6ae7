#pragma once
// What the security layer's unit tests share: unwrapping results, and a CA made once per run
// (EC key generation is cheap, but not free).

#include <catch2/catch.hpp>
#include <chrono>
#include <utility>

#include "api/status.h"
#include "controller/security/certificate_authority.h"

namespace cenv::security::testing {

// The value of `result`, failing the test (with the status) when it is an error.
template <typename T>
T must(Result<T> result) {
  INFO(result.status().to_string());
  REQUIRE(result.ok());
  return std::move(result).value();
}

// Whether `text` contains `part`, for messages.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A validity of `length` that ends `from_now` from now (negative: in the past).
inline Validity validity_ending_in(std::chrono::hours from_now, std::chrono::hours length) {
  auto end = std::chrono::system_clock::now() + from_now;
  return {end - length, end};
}

}  // namespace cenv::security::testing
