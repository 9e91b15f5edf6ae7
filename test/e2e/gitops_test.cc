// GitOps end to end: an Environment whose spec.source follows a bare repository the test makes
// with the git CLI (file://, interval 2s), against the real dockerd. Pushing a commit that adds
// a Service runs it; a change by hand is put back; a commit with an invalid manifest applies
// nothing and Synced names file and field; a CommandRun runs once for its revision, also across
// a controller restart; a commit removing the Service deletes it; a suspended Environment does
// not sync. With a 1h interval, a signed webhook (curl, signed with openssl as the README shows)
// and `cenv sync --wait` apply a new commit at once, a badly signed one nothing; `cenv suspend`
// holds a commit back until `cenv resume`. The runner's own CENV_INSTANCE keeps its Docker objects
// apart; they are removed at the end.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "test/e2e/cenv_runner.h"
#include "test/e2e/condition_text.h"

namespace cenv::e2e {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

constexpr const char* kEnv = "gitops";

std::string service(const std::string& name, const std::string& extra = "") {
  return "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: " + name +
         "\nspec:\n  image: cenv/base:bookworm\n  command: [sleep, \"3600\"]\n" + extra;
}

const char* kRun =
    "apiVersion: cenv.io/v1\nkind: CommandRun\nmetadata:\n  name: once\n"
    "spec:\n  command: [sh, -c, 'echo ran once']\n";

// A bare repository and a clone of it that the test commits to and pushes from.
struct Repo {
  explicit Repo(const std::filesystem::path& dir) : bare(dir / "ops.git"), work(dir / "work") {
    git("init -q --bare -b main '" + bare.string() + "'");
    git("clone -q '" + bare.string() + "' '" + work.string() + "' 2>/dev/null");
    git("-C '" + work.string() + "' checkout -q -b main");
  }
  // Replaces deploy/ with `files`, commits and pushes; returns the commit id.
  std::string push(const std::map<std::string, std::string>& files, const std::string& msg) {
    std::filesystem::remove_all(work / "deploy");
    for (const auto& [path, text] : files) write_file(work / "deploy" / path, text);
    write_file(work / "README.md", "ops\n");
    git("-C '" + work.string() + "' add -A");
    git("-C '" + work.string() + "' -c user.name=t -c user.email=t@example.com commit -q -m '" +
        msg + "'");
    git("-C '" + work.string() + "' push -q origin main 2>/dev/null");
    std::string id = shell("git -C '" + work.string() + "' rev-parse HEAD");
    return id.substr(0, 40);
  }
  static void git(const std::string& args) {
    const std::string cmd = "git " + args;
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  std::filesystem::path bare;
  std::filesystem::path work;
};

struct GitOps {
  GitOps() : repo(cenv.home() / "repos") {}
  ~GitOps() { cenv.run("delete env " + std::string(kEnv) + " --timeout 60s"); }

  // The object as JSON, or null when `cenv get` fails (not found).
  json::value get(const std::string& what) {
    auto r = cenv.run("get " + what + " -n " + kEnv + " -o json");
    if (r.exit_code != 0) return nullptr;
    return json::parse(r.out);
  }
  json::value env() { return get("env " + std::string(kEnv)); }
  std::string source(const std::string& field) {
    json::value e = env();
    const json::value* v = e.is_null() ? nullptr : e.find_pointer("/status/source/" + field, ec);
    return v && v->is_string() ? std::string(v->get_string()) : "";
  }
  // The Synced condition: "status reason: message".
  std::string synced() { return condition_text(env(), "Synced"); }
  std::string field(const json::value& o, const std::string& pointer) {
    const json::value* v = o.is_null() ? nullptr : o.find_pointer(pointer, ec);
    return v ? (v->is_string() ? std::string(v->get_string()) : json::serialize(*v)) : "";
  }
  bool running(const std::string& service) {
    return has(shell("docker ps --format '{{.Names}}' --filter name=" +
                     cenv.docker_name(std::string(kEnv) + "-" + service)),
               cenv.docker_name(std::string(kEnv) + "-" + service));
  }

  CenvRunner cenv;
  Repo repo;
  boost::system::error_code ec;
};

}  // namespace

TEST_CASE("gitops: a Git source runs, repairs, refuses, runs once and prunes what it holds",
          "[e2e][gitops]") {
  GitOps g;
  const std::string a = g.repo.push({{"web.yaml", service("web")}, {"once.yaml", kRun}}, "web");
  const std::string env =
      "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: gitops\nspec:\n"
      "  source:\n    git:\n      url: file://" +
      g.repo.bare.string() + "\n      ref: main\n    path: deploy\n    interval: 2s\n";
  auto applied = g.cenv.run("apply -f -", env);
  INFO(applied.err);
  REQUIRE(applied.exit_code == 0);

  // The commit's Service runs and its CommandRun completes; then the sync is Synced=True.
  REQUIRE(eventually([&] { return g.synced().rfind("True Applied", 0) == 0; }, seconds(60)));
  CHECK(g.source("lastAppliedRevision") == a);
  CHECK(g.running("web"));
  const json::value once = g.get("cr once");
  CHECK(g.field(once, "/status/phase") == "Succeeded");
  const std::string once_uid = g.field(once, "/metadata/uid");
  auto table = g.cenv.run("get env gitops");
  CHECK(has(table.out, "REVISION"));
  CHECK(has(table.out, a));

  // A change by hand is put back from the repository within an interval or two.
  REQUIRE(g.cenv.run("patch svc web -n gitops -p '{\"spec\":{\"command\":[\"sleep\",\"7\"]}}'")
              .exit_code == 0);
  REQUIRE(eventually(
      [&] { return g.field(g.get("svc web"), "/spec/command") == R"(["sleep","3600"])"; },
      seconds(20)));
  REQUIRE(eventually([&] { return has(g.cenv.run("events -n default").out, "DriftCorrected"); },
                     seconds(10)));
  CHECK(has(g.cenv.run("events -n default").out, "spec.command"));

  // A controller restart does not run the CommandRun of this revision again.
  REQUIRE(g.cenv.run("controller stop").exit_code == 0);
  REQUIRE(g.cenv.run("controller start").exit_code == 0);
  const std::string synced_at = g.source("lastSyncTime");
  REQUIRE(eventually([&] { return g.source("lastSyncTime") != synced_at; }, seconds(20)));
  const json::value again = g.get("cr once");
  CHECK(g.field(again, "/metadata/uid") == once_uid);
  CHECK(g.field(again, "/status/attempts") == "1");

  // An invalid manifest: nothing of its revision is applied, and Synced names file and field.
  const std::string bad = service("bad", "  ports:\n  - containerPort: 70000\n");
  const std::string b = g.repo.push({{"web.yaml", service("web")},
                                     {"once.yaml", kRun},
                                     {"api.yaml", service("api")},
                                     {"bad.yaml", bad}},
                                    "bad");
  REQUIRE(
      eventually([&] { return g.synced().rfind("False InvalidManifest", 0) == 0; }, seconds(20)));
  CHECK(has(g.synced(), "deploy/bad.yaml (document 1)"));
  CHECK(has(g.synced(), "spec.ports[0].containerPort"));
  CHECK(g.source("lastAttemptedRevision") == b);
  CHECK(g.source("lastAppliedRevision") == a);
  CHECK(g.get("svc api").is_null());
  CHECK(g.running("web"));

  // A commit without the Service deletes it; its CommandRun runs again, once, for it.
  const std::string c = g.repo.push({{"once.yaml", kRun}}, "no web");
  REQUIRE(eventually([&] { return g.get("svc web").is_null() && !g.running("web"); }, seconds(30)));
  REQUIRE(eventually([&] { return g.synced().rfind("True Applied", 0) == 0; }, seconds(30)));
  CHECK(g.source("lastAppliedRevision") == c);
  const json::value rerun = g.get("cr once");
  CHECK(g.field(rerun, "/metadata/uid") != once_uid);
  CHECK(g.field(rerun, "/metadata/annotations/cenv.io~1source-revision") == c);

  // Suspended: a new commit is not applied.
  REQUIRE(
      g.cenv.run("patch env gitops -p '{\"spec\":{\"source\":{\"suspend\":true}}}'").exit_code ==
      0);
  REQUIRE(eventually([&] { return g.synced().rfind("False Suspended", 0) == 0; }, seconds(10)));
  g.repo.push({{"once.yaml", kRun}, {"late.yaml", service("late")}}, "late");
  // Nothing can signal "did not happen": three intervals pass.
  std::this_thread::sleep_for(seconds(6));
  CHECK(g.get("svc late").is_null());
  CHECK(g.source("lastAppliedRevision") == c);
}

namespace {

// POSTs `body` to the controller's webhook of Environment `env`, signed with `secret` by
// `openssl dgst -sha256 -hmac` (as the README shows); returns "<status> <answer>".
std::string post_webhook(const CenvRunner& cenv, const std::string& env, const std::string& body,
                         const std::string& secret) {
  const std::filesystem::path file = cenv.home() / "push.json";
  write_file(file, body);
  std::string address = shell("cat '" + (cenv.home() / "run" / "http.addr").string() + "'");
  address = address.substr(0, address.find('\n'));
  const std::string cmd =
      "sig=$(openssl dgst -sha256 -hmac '" + secret + "' -r < '" + file.string() +
      "' | cut -d' ' -f1) && curl -s -w ' %{http_code}' -X POST --data-binary @'" + file.string() +
      "' -H \"X-Hub-Signature-256: sha256=$sig\" http://" + address + "/hooks/git/" + env;
  std::string out = shell(cmd);
  // curl prints the answer ("...\n") then " <code>": return "<code> <answer>".
  auto space = out.rfind(' ');
  std::string code = space == std::string::npos ? out : out.substr(space + 1);
  std::string answer = space == std::string::npos ? "" : out.substr(0, space);
  return code.substr(0, 3) + " " + answer;
}

}  // namespace

TEST_CASE(
    "gitops: a signed webhook and cenv sync apply at once, suspend holds back, resume "
    "applies",
    "[e2e][gitops][webhook]") {
  GitOps g;
  const std::string a = g.repo.push({{"web.yaml", service("web")}}, "a");
  const std::string env =
      "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: gitops\nspec:\n"
      "  secrets:\n    hook: s3cret\n"
      "  source:\n    git:\n      url: file://" +
      g.repo.bare.string() + "\n    path: deploy\n    interval: 1h\n    webhookSecretRef: hook\n";
  auto applied = g.cenv.run("apply -f -", env);
  INFO(applied.err);
  REQUIRE(applied.exit_code == 0);
  REQUIRE(eventually([&] { return g.source("lastAppliedRevision") == a; }, seconds(60)));
  REQUIRE(eventually([&] { return g.synced().rfind("True Applied", 0) == 0; }, seconds(30)));

  // Wrongly signed: 401, and nothing is fetched.
  const std::string b =
      g.repo.push({{"web.yaml", service("web", "  restartPolicy: Always\n")}}, "b");
  const std::string payload = R"({"ref":"refs/heads/main","after":")" + b + R"("})";
  std::string refused = post_webhook(g.cenv, kEnv, payload, "wrong");
  CHECK(refused.rfind("401 ", 0) == 0);
  CHECK(has(refused, "does not match"));
  CHECK(post_webhook(g.cenv, "nosuchenv", payload, "s3cret").rfind("404 ", 0) == 0);
  // Nothing can signal "did not happen": a few seconds pass.
  std::this_thread::sleep_for(seconds(3));
  CHECK(g.source("revision") == a);
  CHECK(g.field(g.env(), "/metadata/annotations/cenv.io~1sync-requested-at").empty());

  // Signed with the Environment's secret: accepted, and the commit is applied within seconds.
  std::string accepted = post_webhook(g.cenv, kEnv, payload, "s3cret");
  CHECK(accepted.rfind("202 ", 0) == 0);
  CHECK(has(accepted, "sync of environment/gitops requested"));
  CHECK(eventually([&] { return g.source("lastAppliedRevision") == b; }, seconds(15)));

  // cenv sync --wait: applies the next commit and prints its revision.
  const std::string c = g.repo.push({{"web.yaml", service("web")}}, "c");
  auto synced = g.cenv.run("sync env/gitops --wait --timeout 60s");
  INFO(synced.err);
  CHECK(synced.exit_code == 0);
  CHECK(has(synced.out, "environment/gitops sync requested"));
  CHECK(has(synced.out, "environment/gitops synced: revision " + c));
  CHECK(g.source("lastAppliedRevision") == c);

  // Suspended: a push and a sync request apply nothing; --wait says why at once.
  auto suspended = g.cenv.run("suspend env/gitops");
  CHECK(suspended.exit_code == 0);
  CHECK(suspended.out == "environment/gitops suspended\n");
  REQUIRE(eventually([&] { return g.synced().rfind("False Suspended", 0) == 0; }, seconds(10)));
  const std::string d =
      g.repo.push({{"web.yaml", service("web")}, {"late.yaml", service("late")}}, "d");
  auto held = g.cenv.run("sync environment gitops");
  CHECK(held.exit_code == 0);
  CHECK(has(held.err, "is suspended"));
  auto held_wait = g.cenv.run("sync env/gitops --wait --timeout 20s");
  CHECK(held_wait.exit_code == 1);
  CHECK(has(held_wait.err, "spec.source.suspend is true"));
  CHECK(post_webhook(g.cenv, kEnv, payload, "s3cret").rfind("202 ", 0) == 0);
  std::this_thread::sleep_for(seconds(3));
  CHECK(g.get("svc late").is_null());
  CHECK(g.source("lastAppliedRevision") == c);

  // Resumed: the held commit is applied at once.
  auto resumed = g.cenv.run("resume env/gitops");
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.out == "environment/gitops resumed\n");
  CHECK(eventually([&] { return g.source("lastAppliedRevision") == d; }, seconds(30)));
  CHECK(eventually([&] { return !g.get("svc late").is_null(); }, seconds(5)));

  // An Environment without a Git source is one clear error naming spec.source.
  auto plain = g.cenv.run("suspend env/default");
  CHECK(plain.exit_code == 1);
  CHECK(has(plain.err, "spec.source"));
  auto plain_sync = g.cenv.run("sync env/default");
  CHECK(plain_sync.exit_code == 1);
  CHECK(has(plain_sync.err, "spec.source"));
  CHECK(g.cenv.run("sync svc/web -n gitops").exit_code == 1);
}

}  // namespace cenv::e2e
