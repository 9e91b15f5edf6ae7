// Authorization of remote callers by RoleBindings (issue 12 point 5), end to end: users with
// certificates of the controller's CA, bound (or not) to roles, through contexts over mutual
// TLS. The local unix socket stays the owner's: every setup step below runs through it.

#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "test/e2e/cenv_runner.h"
#include "test/e2e/remote_fixture.h"

namespace cenv::e2e {
namespace {

constexpr const char* kSetup = R"(apiVersion: cenv.io/v1
kind: Environment
metadata: {name: team-a}
spec: {}
---
apiVersion: cenv.io/v1
kind: Environment
metadata: {name: team-b}
spec: {}
---
apiVersion: cenv.io/v1
kind: CommandRun
metadata: {name: job, namespace: team-a}
spec: {command: ["true"]}
---
apiVersion: cenv.io/v1
kind: CommandRun
metadata: {name: job, namespace: team-b}
spec: {command: ["true"]}
---
apiVersion: cenv.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: team-a}
spec:
  role: view
  subjects: [{kind: User, name: vera}]
---
apiVersion: cenv.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: team-a}
spec:
  role: edit
  subjects: [{kind: Group, name: devs}]
)";

constexpr const char* kAnotherRun = R"(apiVersion: cenv.io/v1
kind: CommandRun
metadata: {name: more, namespace: team-a}
spec: {command: ["true"]}
)";

TEST_CASE("RoleBindings decide what remote users may do", "[e2e][remote][authorization]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const std::string certs = remote.certs().string();
  REQUIRE(cenv.run("certs client vera --dir '" + certs + "'").exit_code == 0);
  REQUIRE(cenv.run("certs client ed --dir '" + certs + "' --groups devs").exit_code == 0);
  REQUIRE(cenv.run("certs client nobody --dir '" + certs + "'").exit_code == 0);
  for (const std::string user : {"vera", "ed", "nobody"}) {
    REQUIRE(cenv.run("context add " + user + " --server " + remote.address() + " --certs '" +
                     certs + "' --user " + user)
                .exit_code == 0);
  }
  auto setup = cenv.run("apply -f -", kSetup);
  INFO(setup.out << setup.err);
  REQUIRE(setup.exit_code == 0);

  // view: reads its namespace, writes nothing.
  CHECK(cenv.run("get cr job -n team-a --context vera").exit_code == 0);
  auto view_apply = cenv.run("apply -f - --context vera", kAnotherRun);
  CHECK(view_apply.exit_code != 0);
  CHECK(has(view_apply.err, "user \"vera\" cannot apply commandrun/more in namespace \"team-a\""));
  CHECK(cenv.run("delete cr job -n team-a --context vera").exit_code != 0);
  auto view_run = cenv.run("run -n team-a --context vera -- true");
  CHECK(view_run.exit_code != 0);
  CHECK(cenv.run("get cr job -n team-a").exit_code == 0);  // still there

  // edit of team-a: writes there, cannot read team-b, and a list of all shows team-a only.
  auto edit_apply = cenv.run("apply -f - --context ed", kAnotherRun);
  INFO(edit_apply.err);
  CHECK(edit_apply.exit_code == 0);
  // Every write names its user: in the events describe shows (written just after the write
  // returns), and in managedFields.
  RunResult described;
  CHECK(eventually(
      [&] {
        described = cenv.run("describe cr more -n team-a --context ed");
        return has(described.out, "created by ed (groups: devs) with field manager cenv");
      },
      std::chrono::seconds(20)));
  INFO(described.out << described.err);
  CHECK(has(described.out, "Created"));
  auto managed = cenv.run("get cr more -n team-a -o yaml --show-managed-fields --context ed");
  CHECK(has(managed.out, "manager: cenv"));
  CHECK(has(managed.out, "user: ed"));
  // What the owner wrote through the unix socket names the OS user the controller runs as.
  struct passwd* me = getpwuid(geteuid());
  REQUIRE(me != nullptr);
  const std::string by_owner =
      "created by " + std::string(me->pw_name) + " (the local owner) with field manager cenv";
  CHECK(eventually([&] { return has(cenv.run("describe env team-a").out, by_owner); },
                   std::chrono::seconds(20)));
  auto edit_b = cenv.run("get cr job -n team-b --context ed");
  CHECK(edit_b.exit_code != 0);
  CHECK(has(edit_b.err,
            "user \"ed\" (groups devs) cannot get commandrun/job in namespace "
            "\"team-b\""));
  auto all = cenv.run("get cr -A -o name --context ed");
  CHECK(all.exit_code == 0);
  CHECK(has(all.out, "commandrun/job"));
  CHECK(has(all.out, "commandrun/more"));
  auto all_local = cenv.run("get cr -A --no-headers");
  auto all_ed = cenv.run("get cr -A --no-headers --context ed");
  CHECK(has(all_local.out, "team-b"));
  CHECK_FALSE(has(all_ed.out, "team-b"));
  // edit cannot grant itself more.
  auto grant = cenv.run("apply -f - --context ed", R"(apiVersion: cenv.io/v1
kind: RoleBinding
metadata: {name: mine, namespace: team-a}
spec: {role: admin, subjects: [{kind: User, name: ed}]}
)");
  CHECK(grant.exit_code != 0);

  // No binding: nothing, with PERMISSION_DENIED's words.
  auto none = cenv.run("get cr job -n team-a --context nobody");
  CHECK(none.exit_code != 0);
  CHECK(has(none.err, "user \"nobody\" cannot get commandrun/job"));

  // The admin certificate (group cenv:admins) needs no binding.
  REQUIRE(cenv.run("context add admin --server " + remote.address() + " --certs '" + certs + "'")
              .exit_code == 0);
  CHECK(cenv.run("get cr job -n team-b --context admin").exit_code == 0);
  // A deletion names its user too, in the namespace's events.
  REQUIRE(cenv.run("delete cr job -n team-b --context admin").exit_code == 0);
  CHECK(eventually(
      [&] {
        return has(cenv.run("events -n team-b").out, "deleted by admin (groups: cenv:admins)");
      },
      std::chrono::seconds(20)));

  cenv.run("delete env team-a team-b --wait=false");
}

}  // namespace
}  // namespace cenv::e2e
