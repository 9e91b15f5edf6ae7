// SourceReconciler (GitOps) in the whole ReconcilerSet on a real ApiService, with a
// FakeGitFetcher in place of libgit2; and the pure rules of source_manifests.h.

#include "reconcilers/source_reconciler.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/annotations.h"
#include "api/json_fields.h"
#include "test/fakes/fake_git_fetcher.h"
#include "test/unit/reconcilers/reconciler_bed.h"

using namespace cenv;
using testing::eventually;
using testing::FakeGitFetcher;
using testing::ReconcilerBed;
namespace json = boost::json;

namespace {

constexpr const char* kUrl = "https://git.example.com/ops.git";

std::string service_yaml(const std::string& name, const std::string& command = "serve") {
  return "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: " + name +
         "\nspec:\n  image: cenv/base:bookworm\n  command: [" + command + "]\n";
}

std::string run_yaml(const std::string& name, const std::string& hook = "") {
  std::string y = "apiVersion: cenv.io/v1\nkind: CommandRun\nmetadata:\n  name: " + name + "\n";
  if (!hook.empty()) y += "  annotations:\n    cenv.io/hook: " + hook + "\n";
  return y + "spec:\n  command: [echo, hi]\n";
}

modules::FileTree tree(std::initializer_list<std::pair<std::string, std::string>> files) {
  modules::FileTree t;
  for (const auto& [path, data] : files) t.files[path] = {data, false};
  return t;
}

std::string commit(char c) { return std::string(40, c); }

// The bed with a FakeGitFetcher, and Environment "ops" following kUrl's main at path "app".
struct SourceBed {
  explicit SourceBed(modules::FileTree first, const std::string& interval = "1h")
      : bed(options(git)) {
    git.set(kUrl, "main", commit('a'), std::move(first));
    bed.environment("ops",
                    json::object{{"source", json::object{{"git", json::object{{"url", kUrl}}},
                                                         {"path", "app"},
                                                         {"interval", interval}}}});
  }
  static ReconcilerSetOptions options(FakeGitFetcher& git) {
    ReconcilerSetOptions o = ReconcilerBed::default_options();
    o.git_fetcher = &git;
    return o;
  }
  Object env() { return bed.get("Environment", "", "ops"); }
  std::string source(std::string_view field) {
    const Object e = env();
    return std::string(string_field(object_field(e.status_or_null(), "source"), field));
  }
  bool synced(std::string_view status, std::string_view reason = {}) {
    return bed.condition_is("Environment", "", "ops", "Synced", status, reason);
  }
  std::string synced_message() {
    auto c = get_condition(env(), "Synced");
    return c ? c->message : "";
  }
  bool exists(const std::string& kind, const std::string& name) {
    return !bed.get(kind, "ops", name).name().empty();
  }
  // Asks for a sync now, as the webhook and `cenv sync` do.
  void request_sync(const std::string& at) {
    bed.update("Environment", "", "ops", [&](Object& o) {
      json::value& a = o.metadata()["annotations"];
      if (!a.is_object()) a = json::object();
      a.get_object()[kSyncRequestedAtAnnotation] = at;
    });
  }
  // The Events recorded about an object (by uid), their messages.
  std::vector<std::string> events(const Object& about, const std::string& reason) {
    std::vector<std::string> out;
    auto l = bed.f.client->list("Event", "", LabelSelector());
    REQUIRE(l.ok());
    for (const Object& e : l->items) {
      const json::object& o = e.json();
      if (string_field(object_field(o, "involvedObject"), "uid") != about.uid()) continue;
      if (string_field(o, "reason") == reason)
        out.push_back(std::string(string_field(o, "message")));
    }
    return out;
  }

  FakeGitFetcher git;  // before the bed: it outlives the controllers
  ReconcilerBed bed;
};

}  // namespace

TEST_CASE("source: a revision's Services run, and one a later revision drops is pruned",
          "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")},
                    {"app/README.md", "not a manifest"},
                    {"other/x.yaml", "not: read"}}));
  REQUIRE(eventually([&] { return s.synced("True", "Applied"); }));
  CHECK(s.bed.ready("ops", "web"));
  CHECK(s.source("lastAppliedRevision") == commit('a'));
  CHECK(s.source("revision") == commit('a'));
  const Object web = s.bed.get("Service", "ops", "web");
  CHECK(string_field(object_field(web.metadata_or_null(), "labels"), kApplySetLabel) ==
        "gitops.ops");
  const Object env = s.env();
  const json::array* inventory =
      array_field(object_field(env.status_or_null(), "source"), "inventory");
  REQUIRE(inventory);
  CHECK(json::serialize(*inventory) == R"([{"kind":"Service","name":"web"}])");
  // An object the source did not apply is never pruned.
  s.bed.service("ops", "mine", testing::spec_of(R"({"image":"cenv/base:bookworm"})"));

  s.git.set(kUrl, "main", commit('b'), tree({{"app/api.yaml", service_yaml("api")}}));
  s.request_sync("2027-01-15T08:00:01Z");
  REQUIRE(eventually([&] { return s.source("lastAppliedRevision") == commit('b'); }));
  REQUIRE(eventually([&] { return !s.exists("Service", "web"); }));
  CHECK(s.exists("Service", "api"));
  CHECK(s.exists("Service", "mine"));
  REQUIRE(eventually([&] {
    return s.synced("True", "Applied") &&
           s.synced_message().find("bbbbbbbbbbbb") != std::string::npos;
  }));
  CHECK(s.source("lastHandledSyncRequest") == "2027-01-15T08:00:01Z");
}

TEST_CASE("source: an object annotated cenv.io/prune: disabled outlives its removal",
          "[reconcilers][source]") {
  const std::string kept =
      "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: kept\n  annotations:\n"
      "    cenv.io/prune: disabled\nspec:\n  image: cenv/base:bookworm\n";
  SourceBed s(tree({{"app/kept.yaml", kept}, {"app/web.yaml", service_yaml("web")}}));
  REQUIRE(eventually([&] { return s.exists("Service", "kept") && s.exists("Service", "web"); }));
  s.git.set(kUrl, "main", commit('b'), tree({{"app/web.yaml", service_yaml("web")}}));
  s.request_sync("2027-01-15T08:00:01Z");
  REQUIRE(eventually([&] { return s.source("lastAppliedRevision") == commit('b'); }));
  CHECK(s.exists("Service", "kept"));
}

TEST_CASE("source: a change by hand is put back at the next interval, naming the fields",
          "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")}}), "1s");
  REQUIRE(eventually([&] { return s.synced("True"); }));
  s.bed.update("Service", "ops", "web",
               [](Object& o) { o.spec()["command"] = json::array{"hacked"}; });
  bool restored = eventually([&] {
    const Object web = s.bed.get("Service", "ops", "web");
    const json::array* cmd = array_field(web.spec_or_null(), "command");
    return cmd && cmd->size() == 1 && cmd->at(0) == "serve";
  });
  INFO(s.bed.get("Service", "ops", "web").to_json());
  REQUIRE(restored);
  REQUIRE(eventually([&] { return !s.events(s.env(), "DriftCorrected").empty(); }));
  const std::string message = s.events(s.env(), "DriftCorrected").front();
  CHECK_THAT(message, Catch::Contains("service/web") && Catch::Contains("spec.command"));
  CHECK(eventually(
      [&] { return !s.events(s.bed.get("Service", "ops", "web"), "DriftCorrected").empty(); }));
}

TEST_CASE("source: a revision with an invalid manifest applies nothing and names file and field",
          "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")}}));
  REQUIRE(eventually([&] { return s.synced("True"); }));
  const std::string bad =
      "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n"
      "  image: cenv/base:bookworm\n  ports:\n  - containerPort: 70000\n";
  s.git.set(kUrl, "main", commit('b'),
            tree({{"app/api.yaml", service_yaml("api")}, {"app/bad.yaml", bad}}));
  s.request_sync("2027-01-15T08:00:01Z");
  REQUIRE(eventually([&] { return s.synced("False", "InvalidManifest"); }));
  CHECK_THAT(s.synced_message(), Catch::Contains("app/bad.yaml (document 1)") &&
                                     Catch::Contains("spec.ports[0].containerPort"));
  CHECK(s.source("lastAttemptedRevision") == commit('b'));
  CHECK(s.source("lastAppliedRevision") == commit('a'));
  CHECK_FALSE(s.exists("Service", "api"));
  CHECK(s.exists("Service", "web"));
  CHECK_FALSE(s.events(s.env(), "SyncFailed").empty());
}

TEST_CASE("source: a fetch that fails says why and keeps what is applied",
          "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")}}));
  REQUIRE(eventually([&] { return s.synced("True"); }));
  s.bed.update("Environment", "", "ops", [](Object& o) {
    o.spec()["source"].as_object()["git"].as_object()["ref"] = "nope";
  });
  REQUIRE(eventually([&] { return s.synced("False", "SourceNotFound"); }));
  CHECK_THAT(s.synced_message(), Catch::Contains("\"nope\""));
  s.bed.update("Environment", "", "ops", [](Object& o) {
    o.spec()["source"].as_object()["git"].as_object()["ref"] = "main";
    o.spec()["source"].as_object()["path"] = "missing";
  });
  REQUIRE(eventually(
      [&] { return s.synced_message().find("\"missing\" not found") != std::string::npos; }));
  CHECK(s.synced("False", "SourceNotFound"));
  s.bed.update("Environment", "", "ops", [](Object& o) {
    o.spec()["source"].as_object()["git"].as_object()["url"] = "https://nowhere.example/x.git";
    o.spec()["source"].as_object()["path"] = "app";
  });
  REQUIRE(eventually([&] { return s.synced("False", "SourceUnavailable"); }));
  CHECK(s.exists("Service", "web"));
  CHECK(s.source("lastAppliedRevision") == commit('a'));
}

TEST_CASE("source: a suspended source does not sync until resumed", "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")}}));
  REQUIRE(eventually([&] { return s.synced("True"); }));
  s.bed.update("Environment", "", "ops",
               [](Object& o) { o.spec()["source"].as_object()["suspend"] = true; });
  REQUIRE(eventually([&] { return s.synced("False", "Suspended"); }));
  const int fetches = s.git.fetches();
  s.git.set(kUrl, "main", commit('b'), tree({{"app/api.yaml", service_yaml("api")}}));
  s.request_sync("2027-01-15T08:00:01Z");
  // The request is seen (the Environment changed) and ignored: nothing fetched or applied.
  REQUIRE(eventually([&] {
    return s.bed.f.client->get({"Environment", "", "ops"}).ok() && s.synced("False", "Suspended");
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.git.fetches() == fetches);
  CHECK_FALSE(s.exists("Service", "api"));
  s.bed.update("Environment", "", "ops",
               [](Object& o) { o.spec()["source"].as_object()["suspend"] = false; });
  REQUIRE(eventually([&] { return s.source("lastAppliedRevision") == commit('b'); }));
  CHECK(s.exists("Service", "api"));
}

TEST_CASE("source: a CommandRun runs once per revision, across a controller restart",
          "[reconcilers][source]") {
  // The bed runs no CommandRun controller: the runs stay as created, so their uids tell
  // whether the source created them again.
  SourceBed s(tree({{"app/job.yaml", run_yaml("job")}}));
  REQUIRE(eventually([&] { return s.exists("CommandRun", "job"); }));
  const Object first = s.bed.get("CommandRun", "ops", "job");
  CHECK(string_field(object_field(first.metadata_or_null(), "annotations"),
                     kSourceRevisionAnnotation) == commit('a'));
  REQUIRE(eventually([&] { return s.source("lastAppliedRevision") == commit('a'); }));

  s.bed.stop();
  s.bed.start();
  s.request_sync("2027-01-15T08:00:01Z");
  REQUIRE(eventually([&] { return s.source("lastHandledSyncRequest") == "2027-01-15T08:00:01Z"; }));
  CHECK(s.bed.get("CommandRun", "ops", "job").uid() == first.uid());

  // Deleted once finished (as ttlSecondsAfterFinished does): not run again for this revision.
  REQUIRE(s.bed.f.client->remove({"CommandRun", "ops", "job"}, {}).ok());
  s.request_sync("2027-01-15T08:00:02Z");
  REQUIRE(eventually([&] { return s.source("lastHandledSyncRequest") == "2027-01-15T08:00:02Z"; }));
  CHECK_FALSE(s.exists("CommandRun", "job"));

  // A new revision runs it again.
  s.git.set(kUrl, "main", commit('b'), tree({{"app/job.yaml", run_yaml("job")}}));
  s.request_sync("2027-01-15T08:00:03Z");
  REQUIRE(eventually([&] { return s.exists("CommandRun", "job"); }));
  const Object second = s.bed.get("CommandRun", "ops", "job");
  CHECK(second.uid() != first.uid());
  CHECK(string_field(object_field(second.metadata_or_null(), "annotations"),
                     kSourceRevisionAnnotation) == commit('b'));
}

TEST_CASE("source: a failed pre-sync hook stops its revision", "[reconcilers][source]") {
  SourceBed s(tree({{"app/web.yaml", service_yaml("web")}}));
  REQUIRE(eventually([&] { return s.synced("True"); }));
  s.git.set(kUrl, "main", commit('b'),
            tree({{"app/migrate.yaml", run_yaml("migrate", "pre-sync")},
                  {"app/api.yaml", service_yaml("api")}}));
  s.request_sync("2027-01-15T08:00:01Z");
  REQUIRE(eventually([&] { return s.exists("CommandRun", "migrate"); }));
  REQUIRE(eventually([&] { return s.synced("Unknown", "Progressing"); }));
  CHECK_THAT(s.synced_message(), Catch::Contains("pre-sync hooks: commandrun/migrate"));
  CHECK_FALSE(s.exists("Service", "api"));
  // The run fails (the bed has no CommandRun controller: its status is written here).
  Object run = s.bed.get("CommandRun", "ops", "migrate");
  set_condition(run, "Failed", kConditionTrue, "Failed", "exit code 3", run.generation(),
                s.bed.f.wall.now());
  REQUIRE(s.bed.f.client->update_status(run).ok());
  REQUIRE(eventually([&] { return s.synced("False", "PreSyncHookFailed"); }));
  CHECK_THAT(s.synced_message(), Catch::Contains("commandrun/migrate failed: exit code 3"));
  CHECK_FALSE(s.exists("Service", "api"));
  CHECK(s.exists("Service", "web"));
  CHECK(s.source("lastAppliedRevision") == commit('a'));
}

TEST_CASE("source: a post-sync hook runs once the rest is Ready, and Synced waits for it",
          "[reconcilers][source]") {
  SourceBed s(tree(
      {{"app/web.yaml", service_yaml("web")}, {"app/smoke.yaml", run_yaml("smoke", "post-sync")}}));
  REQUIRE(eventually([&] { return s.exists("CommandRun", "smoke"); }));
  CHECK(s.bed.ready("ops", "web"));  // created only once web was Ready
  REQUIRE(eventually([&] {
    return s.synced("Unknown", "Progressing") &&
           s.synced_message().find("post-sync hooks: commandrun/smoke") != std::string::npos;
  }));
  // The run succeeds (the bed has no CommandRun controller: its status is written here).
  Object run = s.bed.get("CommandRun", "ops", "smoke");
  set_condition(run, "Complete", kConditionTrue, "Succeeded", "exit code 0", run.generation(),
                s.bed.f.wall.now());
  set_condition(run, "Ready", kConditionTrue, "Succeeded", "exit code 0", run.generation(),
                s.bed.f.wall.now());
  REQUIRE(s.bed.f.client->update_status(run).ok());
  REQUIRE(eventually([&] { return s.synced("True", "Applied"); }));
  CHECK(s.bed.get("CommandRun", "ops", "smoke").uid() == run.uid());
}

TEST_CASE("source manifests: what a source may not apply is refused naming file and field",
          "[reconcilers][source]") {
  struct Row {
    std::string file;
    std::string text;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"other.yaml",
       "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {name: web, namespace: prod}\nspec: {}\n",
       "app/other.yaml (document 1): Service \"web\" in namespace \"prod\": metadata.namespace: "
       "a Git source writes only into its own Environment \"ops\""},
      {"env.yaml", "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: x}\nspec: {}\n",
       "app/env.yaml (document 1): Environment \"x\": kind: \"Environment\" is not applied from "
       "a Git source"},
      {"hook.yaml",
       "apiVersion: cenv.io/v1\nkind: CommandRun\nmetadata:\n  name: j\n  annotations: "
       "{cenv.io/hook: sometimes}\nspec: {command: [x]}\n",
       "metadata.annotations[cenv.io/hook]: \"sometimes\" is not a hook"},
      {"noname.yaml", "apiVersion: cenv.io/v1\nkind: Service\nmetadata: {}\nspec: {}\n",
       "app/noname.yaml (document 1): Service \"\": metadata.name: Required"},
      {"broken.yaml", "kind: Service\nmetadata: {name: [\n", "app/broken.yaml"},
  };
  for (const Row& row : rows) {
    INFO(row.file << ": " << row.text);
    auto got = desired_objects(tree({{row.file, row.text}}), "app", "ops", commit('a'));
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalid);
    CHECK_THAT(got.status().message(), Catch::Contains(row.expected));
  }
  ParseLimits small;
  small.max_bytes = 64;
  auto big = desired_objects(tree({{"big.yaml", service_yaml("a-service-of-more-than-64-bytes")}}),
                             "app", "ops", commit('a'), small);
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(big.status().message(),
             Catch::Contains("app/big.yaml") && Catch::Contains("larger than the limit of 64"));
  auto empty = desired_objects(tree({{"README.md", "x"}}), "", "ops", commit('a'));
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("no manifests"));
}

TEST_CASE("source manifests: objects come in dependency order, in the namespace, runs marked",
          "[reconcilers][source]") {
  const std::string module =
      "apiVersion: cenv.io/v1\nkind: Module\nmetadata: {name: m}\nspec: {requires: {}}\n";
  auto got = desired_objects(tree({{"a.yaml", run_yaml("job")},
                                   {"b.yaml", service_yaml("web")},
                                   {"c.yaml", module},
                                   {".hidden/x.yaml", "not: [valid"}}),
                             "", "ops", commit('a'));
  INFO(got.status().to_string());
  REQUIRE(got.ok());
  REQUIRE(got->size() == 3);
  CHECK(got->at(0).item.object.kind() == "Module");
  CHECK(got->at(1).item.object.kind() == "Service");
  CHECK(got->at(2).item.object.kind() == "CommandRun");
  for (const DesiredObject& d : *got) CHECK(d.item.object.ns() == "ops");
  CHECK(string_field(object_field(got->at(2).item.object.metadata_or_null(), "annotations"),
                     kSourceRevisionAnnotation) == commit('a'));
  CHECK(got->at(1).item.source == "b.yaml (document 1)");
}

TEST_CASE("source manifests: changed_fields names what differs", "[reconcilers][source]") {
  Object a(json::parse(R"({"spec":{"image":"x","env":[{"name":"A"}],"same":1},
      "metadata":{"labels":{"app":"web"}}})")
               .as_object());
  Object b(json::parse(R"({"spec":{"image":"y","env":[{"name":"B"}],"same":1,"args":["-v"]},
      "metadata":{"labels":{"app":"web"}}})")
               .as_object());
  CHECK(changed_fields(a, b) == std::vector<std::string>{"spec.args", "spec.env", "spec.image"});
  CHECK(changed_fields(a, a).empty());
}
