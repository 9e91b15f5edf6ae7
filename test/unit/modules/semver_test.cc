#include "modules/semver.h"

#include <catch2/catch.hpp>
#include <string>

using cenv::modules::parse_range;
using cenv::modules::parse_version;
using cenv::modules::Version;

namespace {

Version v(const char* text) {
  auto r = parse_version(text);
  INFO(text << ": " << r.status().to_string());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("parse_version reads SemVer 2.0 and refuses what it is not", "[modules][semver]") {
  struct Row {
    const char* text;
    const char* error;  // "" when valid; else a part of the message
  };
  const Row rows[] = {
      {"0.0.0", ""},
      {"1.2.3", ""},
      {"10.20.30", ""},
      {"1.0.0-alpha", ""},
      {"1.0.0-alpha.1", ""},
      {"1.0.0-0.3.7", ""},
      {"1.0.0-x-y-z.--", ""},
      {"1.0.0+20130313144700", ""},
      {"1.0.0-beta+exp.sha.5114f85", ""},
      {"18446744073709551615.0.0", ""},
      {"", "it is empty"},
      {"1.2", "expected MAJOR.MINOR.PATCH"},
      {"1.2.3.4", "expected MAJOR.MINOR.PATCH"},
      {"v1.2.3", "major \"v1\" is not a number"},
      {"01.2.3", "major \"01\" has a leading zero"},
      {"1.02.3", "minor \"02\" has a leading zero"},
      {"1.2.3-01", "prerelease identifier \"01\" has a leading zero"},
      {"1.2.3-", "prerelease has an empty identifier"},
      {"1.2.3-a..b", "prerelease has an empty identifier"},
      {"1.2.3+", "build metadata has an empty identifier"},
      {"1.2.3-a_b", "may hold only letters, digits and '-'"},
      {"18446744073709551616.0.0", "is too large"},
      {"1.2.x", "patch \"x\" is not a number"},
  };
  for (const Row& row : rows) {
    INFO("version: " << row.text);
    auto r = parse_version(row.text);
    if (std::string(row.error).empty()) {
      CHECK(r.ok());
      if (r.ok()) CHECK(r->text() == row.text);
    } else {
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == cenv::Code::kInvalid);
      CHECK_THAT(r.status().message(), Catch::Contains("is not a semantic version"));
      CHECK_THAT(r.status().message(), Catch::Contains(row.error));
    }
  }
}

TEST_CASE("versions order by SemVer precedence and ignore build metadata", "[modules][semver]") {
  // The example chain of the SemVer 2.0 specification, in increasing order.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                         "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                         "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                         "1.1.0",       "2.0.0",         "10.0.0"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    INFO(chain[i] << " < " << chain[i + 1]);
    CHECK(v(chain[i]) < v(chain[i + 1]));
    CHECK_FALSE(v(chain[i + 1]) < v(chain[i]));
  }
  CHECK(v("1.0.0+a") == v("1.0.0+b"));
  CHECK(v("1.0.0-rc.1+a") == v("1.0.0-rc.1"));
  CHECK(v("1.0.0-2") < v("1.0.0-10"));
  CHECK(v("1.0.0-a") < v("1.0.0-a.0"));
}

TEST_CASE("ranges accept what npm and Cargo users write", "[modules][semver]") {
  struct Row {
    const char* range;
    const char* version;
    bool in;
  };
  const Row rows[] = {
      {"1.2.3", "1.2.3", true},
      {"1.2.3", "1.2.4", false},
      {"=1.2.3", "1.2.3", true},
      {"=1.2.3", "1.2.2", false},
      {"1.2.3", "1.2.3+build", true},
      {">=1.2 <2.0", "1.2.0", true},
      {">=1.2 <2.0", "1.9.9", true},
      {">=1.2 <2.0", "2.0.0", false},
      {">=1.2 <2.0", "1.1.9", false},
      {">=1.2, <2.0", "1.5.0", true},
      {">= 1.2, < 2.0", "2.0.0", false},
      {"^1.2", "1.2.0", true},
      {"^1.2", "1.99.0", true},
      {"^1.2", "2.0.0", false},
      {"^1.2", "1.1.0", false},
      {"^1.2.3", "1.2.2", false},
      {"^0.2.3", "0.2.9", true},
      {"^0.2.3", "0.3.0", false},
      {"^0.0.3", "0.0.3", true},
      {"^0.0.3", "0.0.4", false},
      {"^0", "0.9.0", true},
      {"^0", "1.0.0", false},
      {"^0.0", "0.0.9", true},
      {"^0.0", "0.1.0", false},
      {"~1.2.3", "1.2.9", true},
      {"~1.2.3", "1.3.0", false},
      {"~1.2.3", "1.2.2", false},
      {"~1.2", "1.2.0", true},
      {"~1", "1.9.0", true},
      {"~1", "2.0.0", false},
      {"1.x", "1.0.0", true},
      {"1.x", "1.9.9", true},
      {"1.x", "2.0.0", false},
      {"1.2.*", "1.2.7", true},
      {"1.2.*", "1.3.0", false},
      {"1", "1.4.0", true},
      {"1.2", "1.2.5", true},
      {"1.2", "1.3.0", false},
      {"*", "0.0.1", true},
      {"*", "99.0.0", true},
      {"x", "3.0.0", true},
      {">1", "1.9.0", false},
      {">1", "2.0.0", true},
      {">1.2", "1.2.9", false},
      {">1.2", "1.3.0", true},
      {">1.2.3", "1.2.3", false},
      {"<1.2", "1.1.9", true},
      {"<1.2", "1.2.0", false},
      {"<=1.2", "1.2.9", true},
      {"<=1.2", "1.3.0", false},
      {"<=1.2.3", "1.2.3", true},
      {"^1 || ^3", "3.1.0", true},
      {"^1 || ^3", "2.0.0", false},
      {"<1 || >=2.1", "2.1.0", true},
      // Prereleases only when the range names one of the same MAJOR.MINOR.PATCH.
      {"^1.0", "1.5.0-beta", false},
      {"*", "1.0.0-rc.1", false},
      {">=1.2.3-rc.1", "1.2.3-rc.2", true},
      {">=1.2.3-rc.1", "1.2.4-rc.1", false},
      {">=1.2.3-rc.1", "1.2.3", true},
      {"^1.2.3-beta.2", "1.2.3-beta.4", true},
      {"^1.2.3-beta.2", "1.2.3-beta.1", false},
      {"1.x", "2.0.0-alpha", false},
      {"<2", "2.0.0-alpha", false},
  };
  for (const Row& row : rows) {
    INFO("range " << row.range << ", version " << row.version);
    auto range = parse_range(row.range);
    REQUIRE(range.ok());
    CHECK(range->contains(v(row.version)) == row.in);
  }
}

TEST_CASE("parse_range says what is wrong with a bad range", "[modules][semver]") {
  struct Row {
    const char* range;
    const char* error;
  };
  const Row rows[] = {
      {"", "it is empty"},
      {"   ", "it is empty"},
      {">=", "\">=\" is not followed by a version"},
      {">=1.2 <", "\"<\" is not followed by a version"},
      {"^1 ||", "an alternative is empty"},
      {"|| ^1", "an alternative is empty"},
      {"1.2 - 2.3", "hyphen ranges are not supported"},
      {">=>1", "has more than one operator"},
      {"==1.2.3", "has more than one operator"},
      {"banana", "\"banana\" is not a version"},
      {"1.x.3", "a number may not follow a wildcard"},
      {"1.2-rc.1", "a prerelease or build needs MAJOR.MINOR.PATCH"},
      {"1.2.3.4", "expected at most MAJOR.MINOR.PATCH"},
      {">*", "matches no version"},
      {"^01.2", "has a leading zero"},
      {"^18446744073709551615", "too large to have an upper bound"},
  };
  for (const Row& row : rows) {
    INFO("range: \"" << row.range << "\"");
    auto r = parse_range(row.range);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == cenv::Code::kInvalid);
    CHECK_THAT(r.status().message(), Catch::Contains("is not a version range"));
    CHECK_THAT(r.status().message(), Catch::Contains(row.error));
  }
}

TEST_CASE("a range keeps its text and desugars caret into bounds", "[modules][semver]") {
  auto r = parse_range("  ^1.2  ");
  REQUIRE(r.ok());
  CHECK(r->text() == "^1.2");
  REQUIRE(r->alternatives().size() == 1);
  const auto& comparators = r->alternatives()[0];
  REQUIRE(comparators.size() == 2);
  CHECK(comparators[0].op == cenv::modules::Comparator::Op::kGe);
  CHECK(comparators[0].version.text() == "1.2.0");
  CHECK(comparators[1].op == cenv::modules::Comparator::Op::kLt);
  CHECK(comparators[1].version.text() == "2.0.0-0");
}
