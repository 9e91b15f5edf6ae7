// The CLI end to end, as a user runs it: apply, get, delete, controller lifecycle, and the
// bad-input corpus of test/data/bad/.

#include <sys/prctl.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace fs = std::filesystem;

// A snapshot of what users write in every object of every kind (identity, labels,
// annotations, generation, spec), to show a failed apply changed nothing. Status, finalizers
// and resourceVersion are left out: the controllers write those on their own meanwhile.
std::string snapshot(const CenvRunner& cenv) {
  auto r = cenv.run("get environments,modules,services,commandruns -A -o json");
  REQUIRE(r.exit_code == 0);
  boost::json::array out;
  const boost::json::value list = boost::json::parse(r.out);
  for (const auto& item : list.at("items").as_array()) {
    const auto& meta = item.at("metadata").as_object();
    boost::json::object kept{{"kind", item.at("kind")}};
    for (const char* key : {"name", "namespace", "uid", "labels", "annotations", "generation"}) {
      if (const auto* v = meta.if_contains(key)) kept[key] = *v;
    }
    if (const auto* spec = item.as_object().if_contains("spec")) kept["spec"] = *spec;
    out.push_back(std::move(kept));
  }
  return boost::json::serialize(out);
}

TEST_CASE("apply creates, re-apply is unchanged, a change is configured", "[e2e]") {
  CenvRunner cenv;
  auto first = cenv.run("apply -f manifests/quickstart.yaml");
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(has(first.out, "environment/demo created"));
  CHECK(has(first.out, "service/web created"));
  CHECK(has(first.out, "commandrun/hello created"));

  auto again = cenv.run("apply -f manifests/quickstart.yaml");
  REQUIRE(again.exit_code == 0);
  CHECK(has(again.out, "environment/demo unchanged"));
  CHECK(has(again.out, "service/web unchanged"));
  CHECK(has(again.out, "commandrun/hello unchanged"));

  std::string changed = R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo, labels: {app: web, tier: front}}
spec:
  command: ["httpd", "-f", "-p", "8081"]
  ports: [{containerPort: 8081}]
)";
  auto configured = cenv.run("apply -f -", changed);
  INFO(configured.err);
  REQUIRE(configured.exit_code == 0);
  CHECK(has(configured.out, "service/web configured"));

  auto yaml = cenv.run("get svc web -n demo -o yaml");
  REQUIRE(yaml.exit_code == 0);
  CHECK(has(yaml.out, "containerPort: 8081"));
  CHECK(has(yaml.out, "protocol: TCP"));  // default from crds/
  CHECK(has(yaml.out, "generation: 2"));
}

TEST_CASE("get prints tables, names, json and selects by label", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);

  auto table = cenv.run("get services -n demo");
  REQUIRE(table.exit_code == 0);
  CHECK(has(table.out, "NAME"));
  CHECK(has(table.out, "AGE"));
  CHECK(has(table.out, "web"));

  auto all = cenv.run("get svc -A");
  REQUIRE(all.exit_code == 0);
  CHECK(has(all.out, "NAMESPACE"));
  CHECK(has(all.out, "demo"));

  auto names = cenv.run("get svc,cr -n demo -o name");
  REQUIRE(names.exit_code == 0);
  CHECK(names.out == "service/web\ncommandrun/hello\n");

  auto env = cenv.run("get env demo -o json");
  REQUIRE(env.exit_code == 0);
  auto v = boost::json::parse(env.out);
  CHECK(v.at("metadata").at("name").as_string() == "demo");
  CHECK(v.at("metadata").at("uid").as_string().size() == 36);

  auto selected = cenv.run("get svc -n demo -l app=web -o name");
  CHECK(selected.out == "service/web\n");
  auto none = cenv.run("get svc -n demo -l app=db");
  CHECK(none.exit_code == 0);
  CHECK(has(none.err, "No resources found in demo namespace."));

  auto bad_selector = cenv.run("get svc -n demo -l 'app in (a'");
  CHECK(bad_selector.exit_code != 0);
  CHECK(has(bad_selector.err, "app in (a"));

  auto missing = cenv.run("get svc nope -n demo");
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "Error from server (NotFound): services \"nope\" not found"));

  auto unknown = cenv.run("get widgets");
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "doesn't have a resource type \"widgets\""));
}

TEST_CASE("objects survive a controller restart", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  std::string before = snapshot(cenv);
  auto stop = cenv.run("controller stop");
  REQUIRE(stop.exit_code == 0);
  CHECK(has(stop.out, "stopped"));
  CHECK(cenv.run("controller status").exit_code == 3);
  // The next command starts the controller again on the same database.
  std::string after = snapshot(cenv);
  CHECK(after == before);
  auto status = cenv.run("controller status");
  CHECK(status.exit_code == 0);
  CHECK(has(status.out, "sqlite:"));
  CHECK(has(cenv.run("apply -f manifests/quickstart.yaml").out, "service/web unchanged"));
}

TEST_CASE("a killed controller is replaced by the next command while it is still a zombie",
          "[e2e]") {
  // Orphaned processes are re-parented to this test process, which does not reap them until
  // the end: the killed controller stays a zombie (its pid answers kill(pid, 0)), as under an
  // init or a terminal multiplexer that reaps late.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  CenvRunner cenv;
  REQUIRE(cenv.run("get environments").exit_code == 0);  // starts the controller
  int pid = 0;
  std::ifstream(cenv.home() / "run" / "controller.pid") >> pid;
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGKILL) == 0);
  // Wait until it is dead (a zombie), not reaped.
  siginfo_t info{};
  REQUIRE(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0);
  REQUIRE(kill(pid, 0) == 0);
  CHECK(cenv.run("controller status").exit_code == 3);
  auto next = cenv.run("get environments");
  CHECK(next.exit_code == 0);
  CHECK_FALSE(has(next.err, "does not answer"));
  CHECK(has(next.err, "started the local controller"));
  waitpid(pid, nullptr, 0);
  cenv.run("controller stop");
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

TEST_CASE("delete by name and by file, deleting an Environment deletes its objects", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto del = cenv.run("delete cr hello -n demo");
  REQUIRE(del.exit_code == 0);
  CHECK(del.out == "commandrun \"hello\" deleted\n");
  CHECK(cenv.run("get cr hello -n demo").exit_code == 1);
  CHECK(cenv.run("delete cr hello -n demo").exit_code == 1);
  CHECK(cenv.run("delete cr hello -n demo --ignore-not-found").exit_code == 0);

  auto env = cenv.run("delete environment demo");
  REQUIRE(env.exit_code == 0);
  auto left = cenv.run("get svc -A -o name");
  CHECK(left.out.empty());
  CHECK(cenv.run("delete env default").exit_code == 1);

  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto by_file = cenv.run("delete -f manifests/quickstart.yaml");
  INFO(by_file.err);
  CHECK(by_file.exit_code == 0);
  CHECK(has(by_file.out, "service \"web\" deleted"));
  CHECK(has(by_file.out, "environment \"demo\" deleted"));
}

TEST_CASE("version and api-resources", "[e2e]") {
  CenvRunner cenv;
  auto v = cenv.run("version --client");
  CHECK(v.exit_code == 0);
  CHECK(has(v.out, "Client Version:  0.1.0"));
  auto res = cenv.run("api-resources");
  CHECK(res.exit_code == 0);
  CHECK(has(res.out, "services"));
  CHECK(has(res.out, "svc"));
  auto env_line = res.out.substr(res.out.find("environments"));
  env_line = env_line.substr(0, env_line.find('\n'));
  CHECK(has(env_line, "false"));
  CHECK(has(env_line, "Environment"));
}

// Every test/data/bad/NAME.yaml is applied; NAME.expected lists substrings the error must
// contain (one per line). The exit code is non-zero and the store is unchanged.
TEST_CASE("the bad-input corpus is rejected with clear errors and changes nothing", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  std::string before = snapshot(cenv);
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(fs::path(CENV_SOURCE_DIR) / "test/data/bad")) {
    if (e.path().extension() == ".expected") cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 14);
  for (const auto& expected : cases) {
    fs::path manifest = expected;
    manifest.replace_extension(".yaml");
    std::string rel = fs::relative(manifest, CENV_SOURCE_DIR).string();
    auto r = cenv.run("apply -f " + rel);
    INFO("case " << rel << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    std::ifstream in(expected);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      INFO("expected: " << line);
      CHECK(has(r.err, line));
    }
  }
  CHECK(snapshot(cenv) == before);
}

TEST_CASE("huge, missing and empty inputs are refused before parsing", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  std::string before = snapshot(cenv);

  fs::path huge = cenv.home() / "huge.yaml";
  {
    std::ofstream out(huge);
    std::string line = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 50 * 1024; ++i) out << line;  // 50 MiB
  }
  auto r = cenv.run("apply -f " + huge.string());
  CHECK(r.exit_code != 0);
  CHECK(has(r.err, huge.string()));
  CHECK(has(r.err, "larger than the limit"));

  auto missing = cenv.run("apply -f test/data/bad/does-not-exist.yaml");
  CHECK(missing.exit_code != 0);
  CHECK(has(missing.err, "test/data/bad/does-not-exist.yaml"));

  fs::path deep = cenv.home() / "deep.yaml";
  std::ofstream(deep) << std::string(100000, '[') << std::string(100000, ']') << "\n";
  auto d = cenv.run("apply -f " + deep.string());
  CHECK(d.exit_code != 0);
  CHECK(has(d.err, deep.string()));

  CHECK(snapshot(cenv) == before);
}

TEST_CASE("diff exits 0 without changes and 1 with a unified diff", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto same = cenv.run("diff -f manifests/quickstart.yaml");
  CHECK(same.exit_code == 0);
  CHECK(same.out.empty());
  std::string changed = R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  command: ["httpd", "-f", "-p", "9090"]
)";
  auto diff = cenv.run("diff -f -", changed);
  CHECK(diff.exit_code == 1);
  CHECK(has(diff.out, "+  - \"9090\""));
  CHECK(has(diff.out, "-  - sh"));
  // Nothing was written.
  CHECK(cenv.run("diff -f manifests/quickstart.yaml").exit_code == 0);
}

TEST_CASE("patch and apply share fields, a conflict names the other manager", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto patched = cenv.run("patch svc web -n demo -p '{\"spec\":{\"args\":[\"-v\"]}}'");
  INFO(patched.err);
  REQUIRE(patched.exit_code == 0);
  CHECK(patched.out == "service/web patched\n");
  CHECK(has(cenv.run("apply -f manifests/quickstart.yaml").out, "service/web unchanged"));
  auto yaml = cenv.run("get svc web -n demo -o yaml");
  CHECK(has(yaml.out, "args:"));
  CHECK(has(yaml.out, "-v"));
  CHECK(!has(yaml.out, "managedFields"));

  auto json_patch = cenv.run(
      "patch svc web -n demo --type json -p "
      "'[{\"op\":\"replace\",\"path\":\"/spec/restartPolicy\",\"value\":\"Never\"}]'");
  REQUIRE(json_patch.exit_code == 0);
  auto conflict = cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {restartPolicy: OnFailure}
)");
  CHECK(conflict.exit_code == 1);
  CHECK(has(conflict.err, "conflict with \"cenv-patch\""));
  CHECK(has(conflict.err, ".spec.restartPolicy"));
}

TEST_CASE("create makes new objects, refuses existing ones and honours generateName", "[e2e]") {
  CenvRunner cenv;
  auto made = cenv.run("create -f manifests/quickstart.yaml");
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(has(made.out, "service/web created"));
  auto again = cenv.run("create -f manifests/quickstart.yaml");
  CHECK(again.exit_code == 1);
  CHECK(has(again.err, "Environment \"demo\" already exists"));
  CHECK(has(again.err, "manifests/quickstart.yaml"));
  CHECK(has(again.err, "Service \"web\" in namespace \"demo\" already exists"));
  const std::string job = R"(apiVersion: cenv.io/v1
kind: CommandRun
metadata: {generateName: job-, namespace: demo}
spec: {command: ["true"]}
)";
  auto first = cenv.run("create -f - -o name", job);
  auto second = cenv.run("create -f - -o name", job);
  INFO(first.err << second.err);
  CHECK(first.exit_code == 0);
  CHECK(second.exit_code == 0);
  CHECK(first.out.rfind("commandrun/job-", 0) == 0);
  CHECK(first.out != second.out);
  auto applied = cenv.run("apply -f -", job);
  CHECK(applied.exit_code == 1);
  CHECK(has(applied.err, "apply cannot use generateName"));
}

TEST_CASE("wait meets jsonpath conditions and times out clearly", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto met = cenv.run("wait svc/web -n demo --for=jsonpath='{.spec.restartPolicy}'=Always");
  CHECK(met.exit_code == 0);
  CHECK(met.out == "service/web condition met\n");
  // A Service whose image does not exist never becomes Ready (web may well be Ready by now).
  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: never, namespace: demo}
spec: {image: "cenv-test/does-not-exist:1", command: [sleep, "600"]}
)")
              .exit_code == 0);
  auto late = cenv.run("wait svc/never -n demo --for=condition=Ready --timeout=1s");
  CHECK(late.exit_code == 1);
  CHECK(has(late.err, "timed out waiting for the condition Ready=True on services/never"));
  auto bad = cenv.run("wait svc/web -n demo --for=readiness");
  CHECK(bad.exit_code == 1);
  CHECK(has(bad.err, "unrecognized condition"));
  auto bad_path = cenv.run("wait svc/web -n demo --for=jsonpath='{.spec['");
  CHECK(bad_path.exit_code == 1);
  CHECK(has(bad_path.err, "invalid JSONPath"));
}

TEST_CASE("delete waits on finalizers, removing them completes it", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  REQUIRE(cenv.run("patch svc web -n demo -p '{\"metadata\":{\"finalizers\":[\"example.com/x\"]}}'")
              .exit_code == 0);
  auto del = cenv.run("delete svc web -n demo --timeout=1s");
  CHECK(del.exit_code == 1);
  CHECK(has(del.out, "service \"web\" deleted"));
  CHECK(has(del.err, "finalizers remain"));
  auto marked = cenv.run("get svc web -n demo -o yaml");
  CHECK(has(marked.out, "deletionTimestamp"));
  REQUIRE(cenv.run("patch svc web -n demo --type json -p "
                   "'[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'")
              .exit_code == 0);
  CHECK(cenv.run("get svc web -n demo").exit_code == 1);
}

TEST_CASE("explain prints field documentation from crds", "[e2e]") {
  CenvRunner cenv;
  auto r = cenv.run("explain svc.spec.ports");
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "KIND:     Service"));
  CHECK(has(r.out, "containerPort"));
  CHECK(has(r.out, "-required-"));
  auto missing = cenv.run("explain svc.spec.nope");
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "\"nope\" does not exist"));
}

TEST_CASE("get -w prints the list, then each change", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  fs::path out = cenv.home() / "watch.out";
  std::string cmd = "CENV_HOME='" + cenv.home().string() +
                    "' '" CENV_BINARY "' get svc -n demo -w -o name > '" + out.string() +
                    "' 2>&1 & echo $!";
  FILE* p = popen(cmd.c_str(), "r");
  int pid = 0;
  REQUIRE(fscanf(p, "%d", &pid) == 1);
  pclose(p);
  auto wait_for = [&](const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      if (has(CenvRunner::slurp(out), text)) return true;
      usleep(20'000);
    }
    return false;
  };
  CHECK(wait_for("service/web\n"));
  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: db, namespace: demo}
spec: {}
)")
              .exit_code == 0);
  CHECK(wait_for("service/db\n"));
  kill(pid, SIGTERM);
}

}  // namespace
}  // namespace cenv::e2e
