#include "modules/semver.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

#include "api/display_text.h"

namespace cenv::modules {

namespace {

constexpr size_t kMaxVersionLength = 256;
constexpr size_t kMaxRangeLength = 1024;

std::string quoted(std::string_view s) { return "\"" + escape_for_display(s) + "\""; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_identifier_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

// A numeric field of a version: digits, no leading zero, fits in uint64. The error says why
// not, without the version (the caller adds it).
Result<uint64_t> parse_number(std::string_view s, std::string_view what) {
  if (!all_digits(s)) {
    return Status::Invalid(std::string(what) + " " + quoted(s) + " is not a number");
  }
  if (s.size() > 1 && s[0] == '0') {
    return Status::Invalid(std::string(what) + " " + quoted(s) + " has a leading zero");
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::Invalid(std::string(what) + " " + quoted(s) + " is too large");
  }
  return n;
}

// Dot-separated identifiers after '-' (prerelease) or '+' (build); numeric prerelease
// identifiers may not have leading zeros.
Result<std::vector<std::string>> parse_identifiers(std::string_view s, bool prerelease) {
  const char* what = prerelease ? "prerelease" : "build metadata";
  std::vector<std::string> out;
  for (std::string_view id : split(s, '.')) {
    if (id.empty()) return Status::Invalid(std::string(what) + " has an empty identifier");
    if (!std::all_of(id.begin(), id.end(), is_identifier_char)) {
      return Status::Invalid(std::string(what) + " identifier " + quoted(id) +
                             " may hold only letters, digits and '-'");
    }
    if (prerelease && all_digits(id) && id.size() > 1 && id[0] == '0') {
      return Status::Invalid("prerelease identifier " + quoted(id) + " has a leading zero");
    }
    out.emplace_back(id);
  }
  return out;
}

// A version in a range, possibly partial: "1", "1.2", "1.x", "1.2.*", "*", "1.2.3-rc.1".
struct Partial {
  int parts = 0;  // how many of major, minor, patch are given (0..3)
  Version version;
};

Result<Partial> parse_partial(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::Invalid(quoted(text) + " is not a version: " + why);
  };
  if (text.empty()) return bad("it is empty");
  size_t plus = text.find('+');
  std::string_view core = text.substr(0, plus);
  size_t dash = core.find('-');
  std::string_view numbers = core.substr(0, dash);
  std::vector<std::string_view> fields = split(numbers, '.');
  if (fields.size() > 3) return bad("expected at most MAJOR.MINOR.PATCH");
  Partial p;
  uint64_t* slots[] = {&p.version.major, &p.version.minor, &p.version.patch};
  static constexpr const char* kNames[] = {"major", "minor", "patch"};
  bool wildcard = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (f == "x" || f == "X" || f == "*") {
      wildcard = true;
      continue;
    }
    if (wildcard) return bad("a number may not follow a wildcard");
    Result<uint64_t> n = parse_number(f, kNames[i]);
    if (!n.ok()) return bad(n.status().message());
    *slots[i] = *n;
    p.parts = static_cast<int>(i) + 1;
  }
  if (dash != std::string_view::npos || plus != std::string_view::npos) {
    if (p.parts != 3) return bad("a prerelease or build needs MAJOR.MINOR.PATCH");
    Result<Version> full = parse_version(text);
    if (!full.ok()) return full.status();
    p.version = std::move(*full);
  }
  return p;
}

Version make_version(uint64_t major, uint64_t minor, uint64_t patch, bool pre_zero = false) {
  Version v;
  v.major = major;
  v.minor = minor;
  v.patch = patch;
  if (pre_zero) v.prerelease = {"0"};  // the lowest prerelease: excludes 2.0.0-alpha from <2
  return v;
}

using Op = Comparator::Op;

// The exclusive upper bound just past the `parts` given of `v` ("1.2" -> <1.3.0-0).
Result<Comparator> bump(const Version& v, int parts, std::string_view token) {
  uint64_t field = parts == 1 ? v.major : parts == 2 ? v.minor : v.patch;
  if (field == std::numeric_limits<uint64_t>::max()) {
    return Status::Invalid(quoted(token) + ": the version is too large to have an upper bound");
  }
  if (parts == 1) return Comparator{Op::kLt, make_version(v.major + 1, 0, 0, true)};
  if (parts == 2) return Comparator{Op::kLt, make_version(v.major, v.minor + 1, 0, true)};
  return Comparator{Op::kLt, make_version(v.major, v.minor, v.patch + 1, true)};
}

Version floor_of(const Partial& p) {
  if (p.parts == 3) return p.version;
  return make_version(p.version.major, p.parts >= 2 ? p.version.minor : 0, 0);
}

// Appends the comparators meaning `op` applied to `p` (npm's desugaring). `op` is one of
// "", "=", ">", ">=", "<", "<=", "^", "~".
Status desugar(std::string_view op, const Partial& p, std::string_view token,
               std::vector<Comparator>& out) {
  const Version& v = p.version;
  auto push_bump = [&](int parts) -> Status {
    Result<Comparator> c = bump(v, parts, token);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
    return Status::Ok();
  };
  if (p.parts == 0) {
    if (op == ">" || op == "<") {
      return Status::Invalid(quoted(token) + " matches no version");
    }
    out.push_back({Op::kGe, Version{}});  // any version
    return Status::Ok();
  }
  if (op.empty() || op == "=") {
    if (p.parts == 3) {
      out.push_back({Op::kEq, v});
      return Status::Ok();
    }
    out.push_back({Op::kGe, floor_of(p)});
    return push_bump(p.parts);
  }
  if (op == ">=") {
    out.push_back({Op::kGe, floor_of(p)});
    return Status::Ok();
  }
  if (op == ">") {
    if (p.parts == 3) {
      out.push_back({Op::kGt, v});
      return Status::Ok();
    }
    Result<Comparator> above = bump(v, p.parts, token);  // >1.2 is >=1.3.0
    if (!above.ok()) return above.status();
    above->op = Op::kGe;
    above->version.prerelease.clear();
    out.push_back(std::move(*above));
    return Status::Ok();
  }
  if (op == "<") {
    Version upper = floor_of(p);
    if (p.parts < 3) upper.prerelease = {"0"};  // <1.2 excludes 1.2.0-alpha
    out.push_back({Op::kLt, upper});
    return Status::Ok();
  }
  if (op == "<=") {
    if (p.parts == 3) {
      out.push_back({Op::kLe, v});
      return Status::Ok();
    }
    return push_bump(p.parts);
  }
  out.push_back({Op::kGe, floor_of(p)});
  if (op == "~") return push_bump(p.parts == 1 ? 1 : 2);
  // "^": the leftmost non-zero part given may not change.
  if (p.parts == 1 || v.major > 0) return push_bump(1);
  if (p.parts == 2 || v.minor > 0) return push_bump(2);
  return push_bump(3);
}

bool is_separator(char c) { return c == ' ' || c == '\t' || c == ','; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One alternative of a range: comparators separated by spaces or commas.
Result<std::vector<Comparator>> parse_alternative(std::string_view text) {
  std::vector<Comparator> out;
  size_t i = 0;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    std::string_view op;
    for (std::string_view candidate : {">=", "<=", ">", "<", "=", "^", "~"}) {
      if (text.substr(i).starts_with(candidate)) {
        op = candidate;
        break;
      }
    }
    i += op.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;  // ">= 1.2"
    size_t version_start = i;
    while (i < text.size() && !is_separator(text[i])) ++i;
    std::string_view token = text.substr(start, i - start);
    std::string_view version = text.substr(version_start, i - version_start);
    if (version.empty()) {
      if (op.empty()) return Status::Invalid(quoted(token) + " is not a version");
      return Status::Invalid(quoted(op) + " is not followed by a version");
    }
    if (version == "-") {
      return Status::Invalid("hyphen ranges are not supported: write >=A <=B");
    }
    if (std::string_view(">=<^~").find(version[0]) != std::string_view::npos) {
      return Status::Invalid(quoted(token) + " has more than one operator");
    }
    Result<Partial> partial = parse_partial(version);
    if (!partial.ok()) return partial.status();
    CENV_RETURN_IF_ERROR(desugar(op, *partial, token, out));
  }
  if (out.empty()) return Status::Invalid("an alternative is empty");
  return out;
}

}  // namespace

std::string Version::text() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  for (size_t i = 0; i < prerelease.size(); ++i) {
    out += (i == 0 ? "-" : ".");
    out += prerelease[i];
  }
  if (!build.empty()) out += "+" + build;
  return out;
}

std::strong_ordering Version::operator<=>(const Version& o) const {
  if (auto c = std::tie(major, minor, patch) <=> std::tie(o.major, o.minor, o.patch);
      std::is_neq(c)) {
    return c;
  }
  // A release ranks above its prereleases.
  if (prerelease.empty() || o.prerelease.empty()) {
    return prerelease.empty() <=> o.prerelease.empty();
  }
  size_t n = std::min(prerelease.size(), o.prerelease.size());
  for (size_t i = 0; i < n; ++i) {
    const std::string& a = prerelease[i];
    const std::string& b = o.prerelease[i];
    bool an = all_digits(a);
    bool bn = all_digits(b);
    if (an && bn) {
      // No leading zeros (parse_version refuses them): the longer number is the larger.
      if (auto c = a.size() <=> b.size(); std::is_neq(c)) return c;
      if (auto c = a <=> b; std::is_neq(c)) return c;
    } else if (an != bn) {
      return an ? std::strong_ordering::less : std::strong_ordering::greater;
    } else if (auto c = a <=> b; std::is_neq(c)) {
      return c;
    }
  }
  return prerelease.size() <=> o.prerelease.size();
}

Result<Version> parse_version(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::Invalid(quoted(text.substr(0, kMaxVersionLength)) +
                           " is not a semantic version: " + why);
  };
  if (text.empty()) return bad("it is empty");
  if (text.size() > kMaxVersionLength) {
    return bad("longer than " + std::to_string(kMaxVersionLength) + " characters");
  }
  Version v;
  size_t plus = text.find('+');
  if (plus != std::string_view::npos) {
    Result<std::vector<std::string>> build = parse_identifiers(text.substr(plus + 1), false);
    if (!build.ok()) return bad(build.status().message());
    v.build = std::string(text.substr(plus + 1));
  }
  std::string_view core = text.substr(0, plus);
  size_t dash = core.find('-');
  if (dash != std::string_view::npos) {
    Result<std::vector<std::string>> pre = parse_identifiers(core.substr(dash + 1), true);
    if (!pre.ok()) return bad(pre.status().message());
    v.prerelease = std::move(*pre);
  }
  std::vector<std::string_view> fields = split(core.substr(0, dash), '.');
  if (fields.size() != 3) return bad("expected MAJOR.MINOR.PATCH");
  static constexpr const char* kNames[] = {"major", "minor", "patch"};
  uint64_t* slots[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < 3; ++i) {
    Result<uint64_t> n = parse_number(fields[i], kNames[i]);
    if (!n.ok()) return bad(n.status().message());
    *slots[i] = *n;
  }
  return v;
}

bool Comparator::matches(const Version& v) const {
  switch (op) {
    case Op::kEq:
      return v == version;
    case Op::kLt:
      return v < version;
    case Op::kLe:
      return v <= version;
    case Op::kGt:
      return v > version;
    case Op::kGe:
      return v >= version;
  }
  return false;
}

bool VersionRange::contains(const Version& v) const {
  for (const std::vector<Comparator>& alternative : alternatives_) {
    bool all = std::all_of(alternative.begin(), alternative.end(),
                           [&](const Comparator& c) { return c.matches(v); });
    if (!all) continue;
    if (!v.is_prerelease()) return true;
    // npm's rule: a prerelease needs a comparator that names a prerelease of the same
    // MAJOR.MINOR.PATCH, so ^1.0 does not pick up 1.5.0-beta.
    bool named = std::any_of(alternative.begin(), alternative.end(), [&](const Comparator& c) {
      return c.version.is_prerelease() && c.version.major == v.major &&
             c.version.minor == v.minor && c.version.patch == v.patch;
    });
    if (named) return true;
  }
  return false;
}

Result<VersionRange> parse_range(std::string_view text) {
  std::string_view trimmed = trim(text);
  auto bad = [&](const Status& why) {
    return Status::Invalid(quoted(trimmed.substr(0, kMaxRangeLength)) +
                           " is not a version range: " + why.message());
  };
  if (trimmed.empty()) return bad(Status::Invalid("it is empty"));
  if (trimmed.size() > kMaxRangeLength) {
    return bad(Status::Invalid("longer than " + std::to_string(kMaxRangeLength) + " characters"));
  }
  VersionRange range;
  range.text_ = std::string(trimmed);
  size_t start = 0;
  for (;;) {
    size_t pos = trimmed.find("||", start);
    std::string_view part =
        trimmed.substr(start, pos == std::string_view::npos ? pos : pos - start);
    Result<std::vector<Comparator>> alternative = parse_alternative(part);
    if (!alternative.ok()) return bad(alternative.status());
    range.alternatives_.push_back(std::move(*alternative));
    if (pos == std::string_view::npos) break;
    start = pos + 2;
  }
  return range;
}

}  // namespace cenv::modules
