#pragma once
// `cenv wait`: block until objects meet a condition, as `kubectl wait` does.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "api/kinds.h"
#include "api/object.h"
#include "api/status.h"
#include "cli/context.h"

namespace cenv::cli {

// A parsed --for: condition=NAME[=VALUE], delete, or jsonpath=EXPR[=VALUE].
class WaitCondition {
 public:
  // Invalid for anything else, or for a bad JSONPath.
  static Result<WaitCondition> parse(const std::string& text);
  // Whether `object` meets the condition (`object` nullptr: it does not exist).
  bool met(const Object* object) const;
  bool is_delete() const { return kind_ == Kind::kDelete; }
  // For a JSONPath condition: Invalid when the path names a field that objects of `kind`
  // cannot have (as crds/ declare them), so that a typo fails at once instead of waiting for
  // the timeout. Ok for other conditions and for parts of the schema that are free-form.
  Status check_fields(const KindInfo& kind) const;
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

// What wait_for_object() found.
struct WaitOutcome {
  bool met = false;      // one of the conditions was met (false: the deadline passed)
  size_t met_index = 0;  // which of them, when met
  std::string state;     // what the object showed last, as WaitCondition::current()
};

// Waits until the object `kind`/`name` in `ns` (empty for cluster-scoped kinds) meets any of
// `any_of`, or until `deadline`; calls `on_progress` with the object's state each time that
// state changes (first with the state found at the start). NotFound when the object does not
// exist and no condition is a deletion; other API errors as the API answers. `not_yet`, when
// given, says why the object's conditions cannot be trusted yet (empty: they can), e.g. that
// the controller has not seen a change they depend on; its answer is the state reported.
// Reused by `cenv wait` and `cenv apply --wait`.
Result<WaitOutcome> wait_for_object(ControllerClient& client, const std::string& kind,
                                    const std::string& ns, const std::string& name,
                                    const std::vector<WaitCondition>& any_of,
                                    std::chrono::system_clock::time_point deadline,
                                    const std::function<void(const std::string&)>& on_progress,
                                    const std::function<std::string(const Object&)>& not_yet = {});

struct WaitFlags {
  std::vector<std::string> args;
  std::string for_condition;
  std::string timeout = "30s";
};

int run_wait(const Context& context, const std::string& ns, const WaitFlags& flags);

}  // namespace cenv::cli
