#include "api/json_arena.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/object.h"

namespace cenv {
namespace {

namespace json = boost::json;

TEST_CASE("JsonArena's values outlive the pointer they were made with", "[json]") {
  Object kept;
  {
    json::storage_ptr arena = JsonArena::make();
    auto parsed = Object::from_json(R"({"kind":"Service","metadata":{"name":"web"},)"
                                    R"("spec":{"image":"a-name-too-long-for-a-short-string"}})",
                                    arena);
    REQUIRE(parsed.ok());
    CHECK(parsed->json().storage().get() == arena.get());
    kept = std::move(parsed).value();
  }
  CHECK(kept.name() == "web");
  CHECK(kept.json().at("spec").at("image") == "a-name-too-long-for-a-short-string");
  // A copy is made from the same arena, and may grow it.
  Object copy = kept;
  copy.spec()["port"] = 80;
  CHECK(copy.json().storage().get() == kept.json().storage().get());
  CHECK(copy.json().at("spec").at("port") == 80);
  CHECK_FALSE(kept.json().at("spec").as_object().contains("port"));
}

TEST_CASE("JsonArena gives out memory to several threads at once", "[json]") {
  json::storage_ptr arena = JsonArena::make();
  std::vector<json::array> lists(4, json::array(arena));
  std::vector<std::thread> threads;
  for (json::array& list : lists) {
    threads.emplace_back([&list] {
      for (int i = 0; i < 2000; ++i) list.emplace_back("value number " + std::to_string(i));
    });
  }
  for (std::thread& t : threads) t.join();
  for (const json::array& list : lists) {
    REQUIRE(list.size() == 2000);
    CHECK(list[1999] == "value number 1999");
  }
}

TEST_CASE("Object::from_json with a storage parses as without one", "[object]") {
  const std::string text = R"({"kind":"X","spec":{"n":1.5,"list":[1,"two",null,true]}})";
  auto plain = Object::from_json(text);
  auto in_arena = Object::from_json(text, JsonArena::make());
  REQUIRE(plain.ok());
  REQUIRE(in_arena.ok());
  CHECK(*plain == *in_arena);
  auto bad = Object::from_json("[1", JsonArena::make());
  CHECK(bad.status().message() == Object::from_json("[1").status().message());
}

}  // namespace
}  // namespace cenv
