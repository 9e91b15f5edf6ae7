#pragma once
// `cenv wait`: block until objects meet a condition, as `kubectl wait` does.

#include <chrono>
#include <string>
#include <vector>

#include "api/object.h"
#include "api/status.h"

namespace cenv::cli {

// A parsed --for: condition=NAME[=VALUE], delete, or jsonpath=EXPR[=VALUE].
class WaitCondition {
 public:
  // Invalid for anything else, or for a bad JSONPath.
  static Result<WaitCondition> parse(const std::string& text);
  // Whether `object` meets the condition (`object` nullptr: it does not exist).
  bool met(const Object* object) const;
  bool is_delete() const { return kind_ == Kind::kDelete; }
  // What is awaited, for progress lines: "condition Ready=True".
  std::string describe() const;
  // What the object shows now, for progress lines: "Ready=False (Pending: image missing)".
  std::string current(const Object* object) const;

 private:
  enum class Kind { kCondition, kDelete, kJsonPath };
  Kind kind_ = Kind::kCondition;
  std::string name_;   // condition type, or the JSONPath expression
  std::string value_;  // expected value; empty for a JSONPath that only has to exist
  bool has_value_ = false;
};

struct WaitFlags {
  std::vector<std::string> args;
  std::string for_condition;
  std::string timeout = "30s";
};

int run_wait(const std::string& ns, const WaitFlags& flags);

}  // namespace cenv::cli
