#include "api/selector.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/display_text.h"

namespace cenv {
namespace {

namespace json = boost::json;

TEST_CASE("LabelSelector::parse accepts kubectl syntax and prints it canonically", "[selector]") {
  struct Row {
    std::string text;
    std::string canonical;
  };
  const std::vector<Row> rows = {
      {"", ""},
      {"   ", ""},
      {"app=web", "app=web"},
      {"app==web", "app=web"},
      {"app!=web", "app!=web"},
      {" app = web , tier != db ", "app=web,tier!=db"},
      {"app=", "app="},
      {"app=,b", "app=,b"},
      {"env in (b,a)", "env in (a,b)"},
      {"env in ( a , b , a )", "env in (a,b)"},
      {"env in(a)", "env in (a)"},
      {"env notin (x)", "env notin (x)"},
      {"env in ()", "env in ()"},
      {"env in (a,)", "env in (,a)"},
      {"release", "release"},
      {"!legacy", "!legacy"},
      {"! legacy", "!legacy"},
      {"z=1,a=2", "a=2,z=1"},
      {"example.com/app=Web_1.x", "example.com/app=Web_1.x"},
      {"in=x,notin", "in=x,notin"},
      {"a!=1,a!=2", "a!=1,a!=2"},
      {"app=web,tier!=db,env in (a,b),!legacy,release",
       "app=web,env in (a,b),!legacy,release,tier!=db"},
  };
  for (const auto& row : rows) {
    INFO("selector: \"" << row.text << "\"");
    auto s = LabelSelector::parse(row.text);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    CHECK(s->to_string() == row.canonical);
    CHECK(s->empty() == row.canonical.empty());
    auto again = LabelSelector::parse(s->to_string());
    REQUIRE(again.ok());
    CHECK(again->to_string() == row.canonical);
  }
}

TEST_CASE("LabelSelector::parse returns requirements with their operators and values",
          "[selector]") {
  using Op = LabelSelector::Op;
  auto s = LabelSelector::parse("tier notin (b, a),app==web,!old,x,y!=1,env in (p)");
  REQUIRE(s.ok());
  const auto& r = s->requirements();
  REQUIRE(r.size() == 6);
  CHECK((r[0].key == "app" && r[0].op == Op::kEquals &&
         r[0].values == std::vector<std::string>{"web"}));
  CHECK((r[1].key == "env" && r[1].op == Op::kIn && r[1].values == std::vector<std::string>{"p"}));
  CHECK((r[2].key == "old" && r[2].op == Op::kDoesNotExist && r[2].values.empty()));
  CHECK((r[3].key == "tier" && r[3].op == Op::kNotIn &&
         r[3].values == std::vector<std::string>{"a", "b"}));
  CHECK((r[4].key == "x" && r[4].op == Op::kExists && r[4].values.empty()));
  CHECK((r[5].key == "y" && r[5].op == Op::kNotEquals &&
         r[5].values == std::vector<std::string>{"1"}));
}

TEST_CASE("LabelSelector::parse names the offending text in errors", "[selector]") {
  const std::string kNamePart =
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
      "end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
  struct Row {
    std::string text;
    std::string detail;
  };
  const std::vector<Row> rows = {
      {"app in (a", "expected ')'"},
      {"app in (a b)", "expected ',' or ')' at \"b)\""},
      {"app in a", "expected '(' at \"a\""},
      {"app in", "expected '('"},
      {"a=b,,c", "expected a label key at \",c\""},
      {"a=b,", "expected a label key"},
      {",a", "expected a label key at \",a\""},
      {"!", "expected a label key"},
      {"!=a", "expected a label key at \"!=a\""},
      {"a b", "expected '=', '==', '!=', 'in', 'notin', ',' or the end at \"b\""},
      {"a (b)", "expected '=', '==', '!=', 'in', 'notin', ',' or the end at \"(b)\""},
      {"a=b c", "expected ',' or the end at \"c\""},
      {"!a=b", "expected ',' or the end at \"=b\""},
      {"a=(b)", "expected a value at \"(b)\""},
      {"a==!b", "expected a value at \"!b\""},
      {"a_=b", "key \"a_\": " + kNamePart},
      {"Bad.Prefix/x",
       "key \"Bad.Prefix/x\": prefix part a lowercase RFC 1123 subdomain must "
       "consist of lower case alphanumeric characters, '-' or '.', and must "
       "start and end with an alphanumeric character (e.g. 'example.com')"},
      {"a=-x",
       "value \"-x\": a valid label must be an empty string or consist of alphanumeric "
       "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
       "(e.g. 'MyValue', or 'my_value', or '12345')"},
      {"a=(\x01\n)", "expected a value at \"(\\x01\\n)\""},
      {"a in (ok, " + std::string(64, 'v') + ")",
       "value \"" + std::string(64, 'v') + "\": must be no more than 63 characters"},
  };
  for (const auto& row : rows) {
    INFO("selector: \"" << row.text << "\"");
    auto s = LabelSelector::parse(row.text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Code::kInvalid);
    CHECK(s.status().message() ==
          "invalid label selector \"" + escape_for_display(row.text) + "\": " + row.detail);
  }
}

TEST_CASE("LabelSelector::matches follows Kubernetes semantics", "[selector]") {
  const json::object labels =
      json::parse(R"({"app": "web", "tier": "db", "env": "prod", "empty": "", "num": 5})")
          .as_object();
  struct Row {
    std::string selector;
    bool with_labels;  // matches `labels`
    bool no_labels;    // matches nullptr (no labels at all)
  };
  const std::vector<Row> rows = {
      {"", true, true},
      {"app=web", true, false},
      {"app==web", true, false},
      {"app=api", false, false},
      {"app!=api", true, true},
      {"app!=web", false, true},
      {"missing!=x", true, true},
      {"env in (prod,dev)", true, false},
      {"env in (dev)", false, false},
      {"missing in (a)", false, false},
      {"env notin (dev)", true, true},
      {"env notin (prod)", false, true},
      {"missing notin (a)", true, true},
      {"app", true, false},
      {"missing", false, false},
      {"!missing", true, true},
      {"!app", false, true},
      {"empty=", true, false},
      {"empty", true, false},
      {"empty in ()", true, false},
      {"app=web,tier=db", true, false},
      {"app=web,tier=cache", false, false},
      {"app=web,!legacy,env notin (dev)", true, false},
      {"num", true, false},     // a non-string label still exists
      {"num=5", false, false},  // but equals no string
      {"num!=5", true, true},
  };
  for (const auto& row : rows) {
    INFO("selector: \"" << row.selector << "\"");
    auto s = LabelSelector::parse(row.selector);
    REQUIRE(s.ok());
    CHECK(s->matches(&labels) == row.with_labels);
    CHECK(s->matches(nullptr) == row.no_labels);
  }
}

TEST_CASE("a default-constructed LabelSelector selects everything", "[selector]") {
  LabelSelector s;
  CHECK(s.empty());
  CHECK(s.to_string().empty());
  CHECK(s.matches(nullptr));
}

}  // namespace
}  // namespace cenv
