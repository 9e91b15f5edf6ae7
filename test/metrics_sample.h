#pragma once
// sample_value: one sample of a metrics::Registry, for tests that check what was counted.

#include <optional>
#include <string>
#include <vector>

#include "api/metrics_registry.h"

namespace cenv::testing {

// The sample of family `name` with `labels` (in the family's label order): a counter's or
// gauge's value, a histogram's count; nullopt when there is no such family or sample.
inline std::optional<double> sample_value(const metrics::Registry& registry,
                                          const std::string& name,
                                          const std::vector<std::string>& labels = {}) {
  for (const metrics::FamilySnapshot& f : registry.collect()) {
    if (f.name != name) continue;
    for (const metrics::Sample& s : f.samples) {
      if (s.label_values != labels) continue;
      if (f.type == metrics::Type::kHistogram) return static_cast<double>(s.histogram.count);
      return s.value;
    }
  }
  return std::nullopt;
}

}  // namespace cenv::testing
