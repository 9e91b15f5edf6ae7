#pragma once
// Semantic versions (SemVer 2.0.0) and version ranges as npm and Cargo users write them: what a
// module manifest's `version`, `compatibility` and `requires.modules[].version` hold.
// Values are immutable once parsed; copy freely.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv::modules {

// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]. Ordered by SemVer precedence: build metadata is kept
// for text() but ignored by every comparison (1.0.0+a == 1.0.0+b).
struct Version {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers, e.g. {"rc", "1"}
  std::string build;                    // after '+', without it; "" when absent

  // "1.2.3-rc.1+build.5".
  std::string text() const;
  bool is_prerelease() const { return !prerelease.empty(); }
  // SemVer precedence: numeric fields, then a release above its prereleases, then the
  // prerelease identifiers left to right (numeric ones numerically and below alphanumeric ones).
  std::strong_ordering operator<=>(const Version& o) const;
  bool operator==(const Version& o) const { return std::is_eq(*this <=> o); }
};

// Parses a strict SemVer 2.0.0 version ("1.2.3", "1.0.0-alpha.1+sha.5114f85"; no leading 'v',
// no leading zeros, at most 256 characters). Invalid naming what is wrong, e.g.
// "\"1.2\" is not a semantic version: expected MAJOR.MINOR.PATCH".
Result<Version> parse_version(std::string_view text);

// One comparison of a range, after desugaring (^, ~, x-ranges) into plain bounds.
struct Comparator {
  enum class Op { kEq, kLt, kLe, kGt, kGe };
  Op op = Op::kGe;
  Version version;
  bool matches(const Version& v) const;
};

// A set of versions: alternatives separated by "||", each a conjunction of comparators
// separated by spaces or commas. npm's semantics, which Cargo users also know:
//   1.2.3  =1.2.3       exactly that version (a bare version is exact, as in npm)
//   >=1.2 <2.0  >1 <=3  bounds; a partial version fills its missing parts as npm does
//   ^1.2.3              compatible: >=1.2.3 <2.0.0 (^0.2.3: <0.3.0; ^0.0.3: <0.0.4)
//   ~1.2.3  ~1.2        patch updates: >=1.2.3 <1.3.0
//   1.x  1.2.*  1  *    wildcards
//   ^1 || ^2            either
// A prerelease version matches only when some comparator of the same alternative names a
// prerelease of the same MAJOR.MINOR.PATCH (>=1.2.3-rc.1 matches 1.2.3-rc.2, ^1.0 does not
// match 1.5.0-beta), so a range never picks up prereleases nobody asked for.
class VersionRange {
 public:
  // The range as written (surrounding whitespace trimmed).
  const std::string& text() const { return text_; }
  // Whether `v` lies in the range.
  bool contains(const Version& v) const;
  // The desugared alternatives, e.g. "^1.2" gives {{>=1.2.0, <2.0.0-0}}.
  const std::vector<std::vector<Comparator>>& alternatives() const { return alternatives_; }

 private:
  friend Result<VersionRange> parse_range(std::string_view text);
  std::string text_;
  std::vector<std::vector<Comparator>> alternatives_;
};

// Parses a range (syntax above; at most 1024 characters). Invalid naming the part that is
// wrong, e.g. "\">=1.2 <\": \"<\" is not followed by a version".
Result<VersionRange> parse_range(std::string_view text);

}  // namespace cenv::modules
