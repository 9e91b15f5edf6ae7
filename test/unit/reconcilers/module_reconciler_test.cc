// ModuleReconciler in the whole ReconcilerSet on a real ApiService, with a FakeGitFetcher:
// status (revision, version, requires, commands, conditions), options, failures and retries,
// and the Services a module declares (created, owned, removed, conflicts).

#include "reconcilers/module_reconciler.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/owner_references.h"
#include "modules/tar_archive.h"
#include "reconcilers/module_sources.h"
#include "test/fakes/fake_git_fetcher.h"
#include "test/unit/reconcilers/reconciler_bed.h"

namespace cenv {
namespace {

namespace json = boost::json;
using testing::eventually;
using testing::FakeGitFetcher;
using testing::ReconcilerBed;
using testing::spec_of;

constexpr const char* kUrl = "https://git.example.com/modules.git";
const std::string kCommit1 = std::string(40, '1');
const std::string kCommit2 = std::string(40, '2');

constexpr const char* kWebManifest = R"(
name: web
version: 2.1.0
requires:
  apt: [busybox, curl=7.88.1-10]
  pip: [requests==2.31.0]
options:
  port: {type: integer, default: 8000}
commands:
  serve: {command: [busybox, httpd, -f], args: [-p, "8000"], description: Serve files}
  hello: {command: [echo, hello]}
services:
  web:
    command: [busybox, httpd, -f]
    ports: [{containerPort: 8000}]
)";

modules::FileTree files_of(const std::string& manifest) {
  modules::FileTree t;
  t.files["cenv-module.yaml"] = {manifest, false};
  return t;
}

json::object git_spec(const std::string& ref = "main") {
  return {{"source", {{"git", {{"url", kUrl}, {"ref", ref}}}}}};
}

// The bed with a FakeGitFetcher in place of libgit2 and Environment "dev".
struct ModuleBed {
  ModuleBed() : bed(options(git)) { bed.environment("dev"); }
  static ReconcilerSetOptions options(FakeGitFetcher& git) {
    ReconcilerSetOptions o = ReconcilerBed::default_options();
    o.git_fetcher = &git;
    return o;
  }
  Object module(const std::string& name, json::object spec) {
    return bed.f.create("Module", "dev", name, std::move(spec));
  }
  Object get(const std::string& kind, const std::string& name) {
    return bed.get(kind, "dev", name);
  }
  bool condition_is(const std::string& name, std::string_view type, std::string_view status,
                    std::string_view reason = {}) {
    return bed.condition_is("Module", "dev", name, type, status, reason);
  }
  std::string message(const std::string& name, std::string_view type) {
    auto c = get_condition(get("Module", name), type);
    return c ? c->message : "";
  }
  // Changes metadata (annotations, labels) or spec of a stored object through the API.
  void update(const std::string& kind, const std::string& name,
              const std::function<void(Object&)>& change) {
    bed.update(kind, kind == "Environment" ? "" : "dev", name, change);
  }

  FakeGitFetcher git;  // before the bed: it outlives the controllers
  ReconcilerBed bed;
};

TEST_CASE("module: a git module publishes its revision, version, requires and commands",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  b.module("web", git_spec());
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
  Object m = b.get("Module", "web");
  const json::object& st = *m.status_or_null();
  CHECK(st.at("revision").as_string() == kCommit1);
  CHECK(st.at("version").as_string() == "2.1.0");
  CHECK(st.at("observedGeneration").as_int64() == m.generation());
  CHECK(json::serialize(st.at("requires")) ==
        R"({"apt":["busybox","curl=7.88.1-10"],"pip":["requests==2.31.0"],"modules":[]})");
  const json::object& commands = st.at("commands").as_object();
  CHECK(json::serialize(commands.at("serve")) ==
        R"({"command":["busybox","httpd","-f"],"args":["-p","8000"],"description":"Serve files"})");
  CHECK(json::serialize(commands.at("hello")) == R"({"command":["echo","hello"],"args":[]})");
  CHECK(b.condition_is("web", "Fetched", "True", "Fetched"));
  CHECK(b.condition_is("web", "ServicesApplied", "True"));
  CHECK(b.message("web", "Fetched").find(kCommit1) != std::string::npos);
  CHECK(b.condition_is("web", "Resolved", "True", "Resolved"));
  CHECK(b.message("web", "Resolved") == "install order in Environment dev: web");
}

TEST_CASE("module: an uploaded folder's revision is its digest", "[reconcilers][module]") {
  ModuleBed b;
  modules::FileTree files = files_of("name: tool\nversion: 1.0.0\n");
  files.files["install.sh"] = {"#!/bin/sh\n", true};
  auto tar = modules::write_tar(files, true);
  REQUIRE(tar.ok());
  const std::string digest = modules::tree_digest(files);
  REQUIRE(b.bed.f.store->put_archive(digest, tar.value()).ok());
  b.module("tool", {{"source", {{"path", "./tool"}, {"digest", digest}}}});
  REQUIRE(eventually([&] { return b.condition_is("tool", "Ready", "True"); }));
  CHECK(b.bed.status_field(b.get("Module", "tool"), "revision") == digest);
}

TEST_CASE("module: an inline module publishes its requires and commands at a content revision",
          "[reconcilers][module]") {
  ModuleBed b;
  b.module("tools", spec_of(R"({"requires": {"apt": ["jq"]}, "install": "echo hi",
                                "commands": {"q": {"command": ["jq", "."]}}})"));
  REQUIRE(eventually([&] { return b.condition_is("tools", "Ready", "True"); }));
  Object m = b.get("Module", "tools");
  CHECK(b.bed.status_field(m, "revision") == inline_module_revision(m));
  CHECK(b.bed.status_field(m, "version") == "0.0.0");
  CHECK(json::serialize(m.status_or_null()->at("commands")) ==
        R"({"q":{"command":["jq","."],"args":[]}})");
}

TEST_CASE("module: an option of the wrong type is Ready=False naming spec.options",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  json::object spec = git_spec();
  spec["options"] = json::object{{"port", "eighty"}};
  b.module("web", spec);
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "False", "InvalidOption"); }));
  CHECK(b.condition_is("web", "Fetched", "True"));
  CHECK(b.message("web", "Ready").find("spec.options.port") != std::string::npos);
  // Fixed by the user: Ready.
  b.update("Module", "web", [](Object& m) { m.spec()["options"] = json::object{{"port", 9000}}; });
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
}

TEST_CASE("module: an unreachable remote is SourceUnavailable and retried until it answers",
          "[reconcilers][module]") {
  ModuleBed b;
  b.module("web", git_spec());
  REQUIRE(
      eventually([&] { return b.condition_is("web", "Fetched", "False", "SourceUnavailable"); }));
  CHECK(b.condition_is("web", "Ready", "False", "SourceUnavailable"));
  CHECK(b.message("web", "Fetched").find("spec.source.git.url") != std::string::npos);
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
}

TEST_CASE("module: an unknown ref is SourceNotFound naming spec.source.git.ref",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  b.module("web", git_spec("release-9"));
  REQUIRE(eventually([&] { return b.condition_is("web", "Fetched", "False", "SourceNotFound"); }));
  CHECK(b.message("web", "Fetched").find("spec.source.git.ref") != std::string::npos);
}

TEST_CASE("module: an invalid manifest is InvalidManifest and is not fetched again",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of("name: web\nversion: 2.x\n"));
  b.module("web", git_spec());
  REQUIRE(eventually([&] { return b.condition_is("web", "Fetched", "False", "InvalidManifest"); }));
  CHECK(b.message("web", "Fetched").find("cenv-module.yaml") != std::string::npos);
  CHECK(b.git.fetches() == 1);
  // A metadata change reconciles it again without a new generation: the cached result serves.
  b.update("Module", "web", [](Object& m) {
    m.metadata()["labels"] = json::object{{"team", "a"}};
  });
  REQUIRE(eventually([&] { return b.get("Module", "web").labels() != nullptr; }));
  CHECK(b.git.fetches() == 1);
}

TEST_CASE("module: a build request of the Environment reads the branch again",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  b.module("web", git_spec());
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
  b.git.set(kUrl, "main", kCommit2, files_of(kWebManifest));
  b.update("Environment", "dev", [](Object& env) {
    env.metadata()["annotations"] =
        json::object{{kBuildRequestedAtAnnotation, "2027-01-15T08:00:00Z"}};
  });
  REQUIRE(eventually(
      [&] { return b.bed.status_field(b.get("Module", "web"), "revision") == kCommit2; }));
}

TEST_CASE("module: its declared Services are created owned by it and follow the manifest",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  Object mod = b.module("web", git_spec());
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
  Object svc = b.get("Service", "web");
  REQUIRE_FALSE(svc.uid().empty());
  CHECK(Object::str_field(*svc.labels(), kModuleLabel) == "web");
  auto refs = owner_references(svc);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].kind == "Module");
  CHECK(refs[0].uid == mod.uid());
  CHECK(refs[0].controller);
  CHECK(refs[0].block_owner_deletion);
  CHECK(json::serialize(svc.spec_or_null()->at("command")) == R"(["busybox","httpd","-f"])");

  // The next commit renames the service: web goes, api comes.
  std::string next = kWebManifest;
  next.replace(next.find("  web:\n"), 7, "  api:\n");
  b.git.set(kUrl, "main", kCommit2, files_of(next));
  b.update("Module", "web", [](Object& m) {
    m.spec()["source"].as_object()["git"].as_object()["ref"] = "main";
    m.spec()["options"] = json::object{{"port", 8001}};  // a new generation
  });
  REQUIRE(eventually([&] { return !b.get("Service", "api").uid().empty(); }));
  REQUIRE(eventually([&] { return b.get("Service", "web").uid().empty(); }));

  // Deleting the Module deletes its Services (garbage collection by owner reference).
  REQUIRE(b.bed.f.client->remove({"Module", "dev", "web"}, {}).ok());
  REQUIRE(eventually([&] { return b.get("Service", "api").uid().empty(); }));
}

TEST_CASE("module: a Service of the same name it does not own is left alone and reported",
          "[reconcilers][module]") {
  ModuleBed b;
  Object mine = b.bed.service("dev", "web", spec_of(R"({"image": "nginx:1"})"));
  b.git.set(kUrl, "main", kCommit1, files_of(kWebManifest));
  b.module("web", git_spec());
  REQUIRE(eventually(
      [&] { return b.condition_is("web", "ServicesApplied", "False", "ServiceNameConflict"); }));
  CHECK(b.condition_is("web", "Ready", "False", "ServiceNameConflict"));
  CHECK(b.condition_is("web", "Fetched", "True"));
  CHECK(b.message("web", "ServicesApplied").find("\"web\"") != std::string::npos);
  Object still = b.get("Service", "web");
  // The Service reconciler writes its status; the Module wrote nothing of it.
  CHECK(*still.spec_or_null() == *mine.spec_or_null());
  CHECK(still.labels() == nullptr);
  CHECK(owner_references(still).empty());
  // Once the user removes theirs, the Module creates its own.
  REQUIRE(b.bed.f.client->remove({"Service", "dev", "web"}, {}).ok());
  REQUIRE(eventually([&] { return b.condition_is("web", "Ready", "True"); }));
  CHECK(is_owned_by(b.get("Service", "web"), b.get("Module", "web").uid()));
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

TEST_CASE("module: Resolved names the install order, and a missing dependency until it comes",
          "[reconcilers][module]") {
  ModuleBed b;
  b.git.set(kUrl, "main", kCommit1,
            files_of("name: app\nversion: 1.0.0\nrequires:\n"
                     "  modules: [{name: base, version: ^1.2}]\n"));
  b.module("app", git_spec());
  REQUIRE(eventually([&] { return b.condition_is("app", "Resolved", "False", "Unresolved"); }));
  CHECK(b.message("app", "Resolved").find("base") != std::string::npos);
  CHECK(b.condition_is("app", "Ready", "False", "Unresolved"));
  // Not stalled: another Module can satisfy it.
  CHECK_FALSE(get_condition(b.get("Module", "app"), "Stalled").has_value());
  Object app = b.get("Module", "app");
  CHECK(json::serialize(app.status_or_null()->at("requires").at("modules")) == R"(["base ^1.2"])");

  // The dependency arrives (inline, version 0.0.0 does not meet ^1.2: still unresolved, with
  // the versions named), then a git one that does.
  b.module("base", spec_of(R"({"install": "true"})"));
  REQUIRE(
      eventually([&] { return b.message("app", "Resolved").find("0.0.0") != std::string::npos; }));
  b.git.set(kUrl, "v2", kCommit2, files_of("name: base\nversion: 1.3.0\n"));
  b.update("Module", "base", [](Object& base) { base.spec() = git_spec("v2"); });
  REQUIRE(eventually([&] { return b.condition_is("app", "Resolved", "True", "Resolved"); }));
  CHECK(b.message("app", "Resolved") == "install order in Environment dev: base, app");
  REQUIRE(eventually([&] { return b.condition_is("app", "Ready", "True"); }));
}

}  // namespace
}  // namespace cenv
