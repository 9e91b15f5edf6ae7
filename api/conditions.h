#pragma once
// Helpers for the status a reconciler writes (DESIGN section 2): status.conditions[] with
// Kubernetes' meta.SetStatusCondition semantics, and status.observedGeneration. Each setter
// returns whether it changed anything, so an unchanged status is recognisably unchanged.
// Pure functions on Object values; thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"

namespace cenv {

inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";
inline constexpr std::string_view kConditionUnknown = "Unknown";

struct Condition {
  std::string type;
  std::string status;  // True, False or Unknown
  std::string reason;
  std::string message;
  std::string last_transition_time;  // RFC 3339
  int64_t observed_generation = 0;
  bool operator==(const Condition&) const = default;
};

// The condition of `type` in status.conditions, or nullopt.
std::optional<Condition> get_condition(const Object& obj, std::string_view type);
// True when the condition of `type` exists with status "True".
bool is_condition_true(const Object& obj, std::string_view type);

// Sets the condition of `type`: adds it, or updates status, reason, message and
// observedGeneration in place. lastTransitionTime becomes `now` only when the condition is new
// or its status changed; otherwise the old time is kept, so writing the same condition again
// changes nothing. Returns true when the object changed.
bool set_condition(Object& obj, std::string_view type, std::string_view status,
                   std::string_view reason, std::string_view message, int64_t observed_generation,
                   std::chrono::system_clock::time_point now);
// Removes the condition of `type`; true when there was one.
bool remove_condition(Object& obj, std::string_view type);

// Sets status.observedGeneration to metadata.generation; true when it changed.
bool set_observed_generation(Object& obj);

}  // namespace cenv
