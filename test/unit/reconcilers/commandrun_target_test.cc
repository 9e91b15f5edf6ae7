// resolve_target for module commands (CommandRun spec.module + moduleCommand + args): the
// Module's published command, args replacing its defaults, waiting while the Module is not
// Ready, and an error listing what exists for an unknown module or command.

#include "reconcilers/commandrun_target.h"

#include <catch2/catch.hpp>
#include <map>

#include "test/fakes/fake_docker_client.h"

namespace cenv {
namespace {

namespace json = boost::json;
using Argv = std::vector<std::string>;

// The objects resolve_target reads, held in memory (status written as the reconcilers write it).
class MemoryReader : public Reader {
 public:
  void put(Object o) { objects_[o.key()] = std::move(o); }
  Result<Object> get(const ObjectKey& key) override {
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound(key.to_string() + " not found");
    return it->second;
  }
  Result<ObjectList> list(std::string_view kind, std::string_view ns,
                          const LabelSelector&) override {
    ObjectList out;
    for (const auto& [key, o] : objects_) {
      if (key.kind == kind && (ns.empty() || key.ns == ns)) out.items.push_back(o);
    }
    return out;
  }

 private:
  std::map<ObjectKey, Object> objects_;
};

Object object(const std::string& kind, const std::string& ns, const std::string& name,
              json::object spec, json::object status = {}) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = kind;
  o.set_name(name);
  if (!ns.empty()) o.set_ns(ns);
  o.set_generation(1);
  o.json()["spec"] = std::move(spec);
  if (!status.empty()) o.json()["status"] = std::move(status);
  return o;
}

json::object module_status(bool ready, json::object commands, int64_t observed = 1) {
  return {
      {"observedGeneration", observed},
      {"commands", std::move(commands)},
      {"conditions", json::array{json::object{{"type", "Ready"},
                                              {"status", ready ? "True" : "False"},
                                              {"reason", ready ? "Ready" : "Fetching"},
                                              {"message", ready ? "" : "fetching the source"}}}}};
}

struct Bed {
  Bed() {
    docker::ImageInfo base;
    base.tags = {"cenv/base:bookworm"};
    fake.add_image(base);
    reader.put(object("Environment", "", "dev", {{"baseImage", "cenv/base:bookworm"}}));
    json::object commands{
        {"pretty", json::object{{"command", json::array{"jq"}}, {"args", json::array{".", "-C"}}}},
        {"raw", json::object{{"command", json::array{"jq", "-r"}}}}};
    reader.put(object("Module", "dev", "jq", {}, module_status(true, commands)));
    reader.put(object("Module", "dev", "greeter", {}));
  }
  Result<CommandRunTarget> resolve(json::object spec) {
    return resolve_target(object("CommandRun", "dev", "run-1", std::move(spec)), reader, fake,
                          names, nullptr);
  }
  MemoryReader reader;
  docker::FakeDockerClient fake;
  DockerNames names;
};

TEST_CASE("a module command runs its published command with its default args",
          "[reconcilers][commandrun]") {
  Bed bed;
  auto t = bed.resolve({{"module", "jq"}, {"moduleCommand", "pretty"}});
  INFO(t.status().to_string());
  REQUIRE(t.ok());
  CHECK(t->command == Argv{"jq", ".", "-C"});
  CHECK(t->image == "cenv/base:bookworm");
}

TEST_CASE("a module command's args replace its default args as Docker CMD",
          "[reconcilers][commandrun]") {
  Bed bed;
  auto t =
      bed.resolve({{"module", "jq"}, {"moduleCommand", "pretty"}, {"args", json::array{".a"}}});
  REQUIRE(t.ok());
  CHECK(t->command == Argv{"jq", ".a"});
  auto raw = bed.resolve({{"module", "jq"}, {"moduleCommand", "raw"}, {"args", json::array{".b"}}});
  REQUIRE(raw.ok());
  CHECK(raw->command == Argv{"jq", "-r", ".b"});
  // A plain command keeps appending its args.
  auto plain = bed.resolve({{"command", json::array{"echo"}}, {"args", json::array{"hi"}}});
  REQUIRE(plain.ok());
  CHECK(plain->command == Argv{"echo", "hi"});
}

TEST_CASE("an unknown module fails the run listing the modules there",
          "[reconcilers][commandrun]") {
  Bed bed;
  auto t = bed.resolve({{"module", "yq"}, {"moduleCommand", "pretty"}});
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == Code::kInvalid);
  CHECK(t.status().message() ==
        "spec.module: Module \"yq\" does not exist in namespace \"dev\" (its modules: greeter, "
        "jq)");
}

TEST_CASE("an unknown command of a Ready module fails the run listing its commands",
          "[reconcilers][commandrun]") {
  Bed bed;
  auto t = bed.resolve({{"module", "jq"}, {"moduleCommand", "slurp"}});
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == Code::kInvalid);
  CHECK(t.status().message() ==
        "spec.moduleCommand: Module \"jq\" has no command \"slurp\" (its commands: pretty, raw)");
}

TEST_CASE("a module command waits while its Module is not Ready for its current spec",
          "[reconcilers][commandrun]") {
  Bed bed;
  auto fresh = bed.resolve({{"module", "greeter"}, {"moduleCommand", "greet"}});
  REQUIRE_FALSE(fresh.ok());
  CHECK(fresh.status().code() == Code::kFailedPrecondition);
  CHECK(fresh.status().message() == "waiting for Module \"greeter\" to be Ready");

  bed.reader.put(object("Module", "dev", "greeter", {}, module_status(false, {})));
  auto fetching = bed.resolve({{"module", "greeter"}, {"moduleCommand", "greet"}});
  REQUIRE_FALSE(fetching.ok());
  CHECK(fetching.status().code() == Code::kFailedPrecondition);
  CHECK(fetching.status().message() ==
        "waiting for Module \"greeter\" to be Ready (fetching the source)");

  // Ready, but for an older generation: its new spec may declare the command.
  Object stale = object("Module", "dev", "greeter", {}, module_status(true, {}, 1));
  stale.set_generation(2);
  bed.reader.put(stale);
  auto old = bed.resolve({{"module", "greeter"}, {"moduleCommand", "greet"}});
  REQUIRE_FALSE(old.ok());
  CHECK(old.status().code() == Code::kFailedPrecondition);
}

}  // namespace
}  // namespace cenv
