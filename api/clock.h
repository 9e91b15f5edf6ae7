#pragma once
// Clock: the seam for time, so tests can inject a fixed or stepping clock.

#include <chrono>
#include <string>

namespace cenv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Current wall-clock time. Thread-safe.
  virtual std::chrono::system_clock::time_point now() const = 0;
};

// The real wall clock.
class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// RFC 3339 UTC with seconds precision, as Kubernetes timestamps: "2026-11-28T20:09:57Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);
// Parses what format_rfc3339 writes (also accepts fractional seconds); false on bad input.
bool parse_rfc3339(std::string_view text, std::chrono::system_clock::time_point* out);

}  // namespace cenv
