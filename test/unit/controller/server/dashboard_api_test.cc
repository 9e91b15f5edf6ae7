// The dashboard's JSON calls and server-sent event framing, apart from HTTP: query strings,
// framing, UTF-8 repair, the kinds it shows, and secrets redacted as `cenv get` shows them.

#include "controller/server/dashboard_api.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "api/environment_secrets.h"
#include "api/yaml_reader.h"
#include "controller/server/dashboard_assets.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

namespace json = boost::json;

constexpr std::string_view kSecret = "hunter2-dashboard";

void apply_yaml(testing::ApiFixture& f, const std::string& yaml) {
  auto docs = parse_manifest(yaml, "test.yaml");
  REQUIRE(docs.ok());
  std::vector<ApplyItem> items;
  for (auto& d : docs.value()) items.push_back({Object(d.value.as_object()), "test.yaml"});
  auto r = f.api->apply(std::move(items), {});
  INFO(r.status().message());
  REQUIRE(r.ok());
}

std::string shop_yaml() {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: shop}\nspec:\n"
         "  secrets: {token: \"" +
         std::string(kSecret) +
         "\"}\n---\n"
         "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
         "spec: {command: [sleep, '1000']}\n";
}

TEST_CASE("parse_query decodes percent escapes and plus signs and keeps a bad escape",
          "[dashboard]") {
  QueryParams q = parse_query("/ui/api/list?kinds=Service%2CCommandRun&namespace=a+b&x=%zz&flag");
  CHECK(q.at("kinds") == "Service,CommandRun");
  CHECK(q.at("namespace") == "a b");
  CHECK(q.at("x") == "%zz");
  CHECK(q.at("flag").empty());
  CHECK(parse_query("/ui/").empty());
}

TEST_CASE("sse_event puts each line of data on a data line of its own", "[dashboard]") {
  struct Row {
    std::string_view type, data, id, framed;
  };
  const Row rows[] = {
      {"change", "{}", "7", "event: change\nid: 7\ndata: {}\n\n"},
      {"", "one", "", "data: one\n\n"},
      {"log", "a\nb", "", "event: log\ndata: a\ndata: b\n\n"},
      {"log", "a\r\nb\rc", "", "event: log\ndata: a\ndata: b\ndata: c\n\n"},
      {"log", "end\n", "", "event: log\ndata: end\ndata: \n\n"},
  };
  for (const Row& r : rows) {
    INFO("data: " << r.data);
    CHECK(sse_event(r.type, r.data, r.id) == r.framed);
  }
  CHECK(sse_comment("beat\nx") == ": beat x\n\n");
}

TEST_CASE("valid_utf8 keeps valid text and replaces each invalid byte with U+FFFD", "[dashboard]") {
  CHECK(valid_utf8("plain") == "plain");
  CHECK(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(valid_utf8("a\xFF"
                   "b") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(valid_utf8("\xC3") == "\xEF\xBF\xBD");                                  // truncated
  CHECK(valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  CHECK(valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(json_quote("<b>\"x\"\n") == "\"<b>\\\"x\\\"\\n\"");
}

TEST_CASE("read_dashboard_query accepts kind names and refuses kinds the dashboard does not show",
          "[dashboard]") {
  testing::ApiFixture f;
  auto q = read_dashboard_query(f.api->kinds(), parse_query("?kinds=svc,cr,Service&namespace=x"));
  REQUIRE(q.ok());
  REQUIRE(q->kinds.size() == 2);
  CHECK(q->kinds[0]->kind == "Service");
  CHECK(q->kinds[1]->kind == "CommandRun");
  CHECK(q->ns == "x");
  CHECK(read_dashboard_query(f.api->kinds(), parse_query("?kinds=RoleBinding")).status().code() ==
        Code::kInvalid);
  CHECK(read_dashboard_query(f.api->kinds(), parse_query("?kinds=Nope")).status().code() ==
        Code::kInvalid);
  CHECK(read_dashboard_query(f.api->kinds(), parse_query("?namespace=x")).status().code() ==
        Code::kInvalid);
  CHECK(read_dashboard_query(f.api->kinds(), parse_query("?kinds=svc&labelSelector=a%20in"))
            .status()
            .code() == Code::kInvalid);
}

TEST_CASE("list answers the objects with secrets redacted and a revision to watch from",
          "[dashboard]") {
  testing::ApiFixture f;
  apply_yaml(f, shop_yaml());
  DashboardApi api(*f.api);
  HttpAnswer a = api.list(parse_query("?kinds=Environment,Service&namespace=shop"));
  REQUIRE(a.status == 200);
  CHECK(a.body.find(kSecret) == std::string::npos);
  CHECK(a.body.find(kRedactedSecret) != std::string::npos);
  json::object body = json::parse(a.body).as_object();
  const json::array& items = body.at("items").as_array();
  REQUIRE(items.size() == 3);  // Environments default and shop, Service web
  CHECK(items[2].at("metadata").at("name").as_string() == "web");
  auto revision = f.store->revision();
  REQUIRE(revision.ok());
  CHECK(std::stoll(std::string(body.at("resourceVersion").as_string())) <= revision.value());

  HttpAnswer one = api.list(parse_query("?kinds=svc&namespace=shop&name=nope"));
  CHECK(json::parse(one.body).at("items").as_array().empty());
  CHECK(api.list(parse_query("?kinds=Secret")).status == 400);
}

TEST_CASE("object answers one object redacted and 404 when missing and 400 without a name",
          "[dashboard]") {
  testing::ApiFixture f;
  apply_yaml(f, shop_yaml());
  DashboardApi api(*f.api);
  HttpAnswer env = api.object(parse_query("?kind=Environment&name=shop"));
  REQUIRE(env.status == 200);
  CHECK(env.body.find(kSecret) == std::string::npos);
  CHECK(json::parse(env.body).at("object").at("spec").at("secrets").at("token").as_string() ==
        kRedactedSecret);
  CHECK(api.object(parse_query("?kind=svc&namespace=shop&name=web")).status == 200);
  CHECK(api.object(parse_query("?kind=svc&namespace=shop&name=nope")).status == 404);
  CHECK(api.object(parse_query("?kind=svc&namespace=shop")).status == 400);
}

TEST_CASE("the dashboard scripts insert data as text and never as HTML", "[dashboard]") {
  size_t scripts = 0;
  for (const DashboardAsset& a : dashboard_assets()) {
    if (!a.path.ends_with(".js")) continue;
    ++scripts;
    INFO(a.path);
    for (std::string_view banned :
         {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("}) {
      INFO(banned);
      CHECK(a.body.find(banned) == std::string_view::npos);
    }
  }
  CHECK(scripts >= 3);
  REQUIRE(find_dashboard_asset("index.html") != nullptr);
  CHECK(find_dashboard_asset("index.html")->body.find("<script>") == std::string_view::npos);
}

}  // namespace
}  // namespace cenv
