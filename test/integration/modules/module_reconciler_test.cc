// The Module controller through the real stack, in process: a Git repository made with
// libgit2 in a temp dir and fetched over file:// by Libgit2Fetcher, the ReconcilerSet on a real
// ApiService, and the module's declared Service run by the real dockerd. Every Docker object
// carries cenv-test-run=<id> and is removed at the end.

#include "reconcilers/module_reconciler.h"

#include <git2.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>

#include "api/conditions.h"
#include "api/owner_references.h"
#include "controller/app/reconciler_set.h"
#include "reconcilers/module_sources.h"
#include "test/integration/reconcilers/docker_test_env.h"
#include "test/temp_dir.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

namespace fs = std::filesystem;
using testing::eventually;

void check_git(int rc, const char* what) {
  INFO(what << ": " << (git_error_last() != nullptr ? git_error_last()->message : ""));
  REQUIRE(rc == 0);
}

// A repository built with libgit2 (no git CLI): each commit() replaces the whole tree of
// branch main.
class GitRepo {
 public:
  explicit GitRepo(const fs::path& dir) {
    git_libgit2_init();
    check_git(git_repository_init(&repo_, dir.c_str(), 0), "init");
    check_git(git_repository_set_head(repo_, "refs/heads/main"), "set HEAD");
  }
  ~GitRepo() {
    git_repository_free(repo_);
    git_libgit2_shutdown();
  }
  GitRepo(const GitRepo&) = delete;
  GitRepo& operator=(const GitRepo&) = delete;

  // Commits exactly `files` (path -> content) on main; returns the commit id (40 hex).
  std::string commit(const std::map<std::string, std::string>& files) {
    git_index* index = nullptr;
    check_git(git_repository_index(&index, repo_), "index");
    check_git(git_index_clear(index), "clear index");
    for (const auto& [path, data] : files) {
      git_index_entry e{};
      e.mode = GIT_FILEMODE_BLOB;
      e.path = path.c_str();
      check_git(git_index_add_from_buffer(index, &e, data.data(), data.size()), "add");
    }
    git_oid tree_id, commit_id;
    check_git(git_index_write_tree_to(&tree_id, index, repo_), "write tree");
    git_index_free(index);
    git_tree* tree = nullptr;
    check_git(git_tree_lookup(&tree, repo_, &tree_id), "tree");
    git_signature* sig = nullptr;
    check_git(git_signature_new(&sig, "Test", "test@example.com", 1700000000 + ++n_, 0), "sig");
    git_commit* parent = nullptr;
    git_oid head;
    const bool has_parent = git_reference_name_to_id(&head, repo_, "HEAD") == 0;
    if (has_parent) check_git(git_commit_lookup(&parent, repo_, &head), "parent");
    const git_commit* parents[] = {parent};
    check_git(git_commit_create(&commit_id, repo_, "HEAD", sig, sig, nullptr, "commit", tree,
                                has_parent ? 1 : 0, parents),
              "commit");
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    return git_oid_tostr_s(&commit_id);
  }

 private:
  git_repository* repo_ = nullptr;
  int n_ = 0;
};

// A module "hello" in modules/hello: a command and a Service serving HTTP with busybox (in the
// base image) on `port`.
std::string hello_manifest(int port) {
  return "name: hello\n"
         "version: 0.3.0\n"
         "requires:\n"
         "  apt: [curl]\n"
         "commands:\n"
         "  greet: {command: [echo, hello], description: Says hello}\n"
         "services:\n"
         "  hello-web:\n"
         "    command: [busybox, httpd, -f, -p, \"" +
         std::to_string(port) +
         "\"]\n"
         "    healthCheck: {tcpPort: " +
         std::to_string(port) + ", interval: 1s}\n";
}

struct Bed {
  Bed()
      : run_id(testing::new_run_id()),
        ns("it-" + run_id),
        names("it-" + run_id, {{testing::kTestRunLabel, run_id}}),
        docker(testing::connect_docker()),
        cleanup(*docker, run_id, ns),
        connection(*docker),
        repo(tmp.path() / "repo") {
    ReconcilerSetOptions o;
    o.names = names;
    o.workloads.stop_timeout_seconds = 1;
    o.git_cache_dir = tmp.path() / "cache" / "git";
    auto s = ReconcilerSet::start(*f.api, *f.hub, connection, f.wall, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    set = std::move(s.value());
    f.create("Environment", "", ns);
  }
  ~Bed() {
    if (set) set->stop();
  }
  Object get(const std::string& kind, const std::string& name) {
    auto o = f.client->get({kind, ns, name});
    return o.ok() ? o.value() : Object();
  }
  std::string condition(const std::string& name, std::string_view type) {
    auto c = get_condition(get("Module", name), type);
    return c ? c->status + " " + c->reason + ": " + c->message : "";
  }

  testing::ApiFixture f;
  std::string run_id;
  std::string ns;
  DockerNames names;
  std::unique_ptr<docker::EngineDockerClient> docker;
  testing::DockerCleanup cleanup;
  DockerConnection connection;
  testing::TempDir tmp{"cenv-it-module"};
  GitRepo repo;
  std::unique_ptr<ReconcilerSet> set;
};

TEST_CASE("integration: a git Module is fetched at its commit and runs its declared Service",
          "[integration][modules]") {
  Bed bed;
  const std::string commit = bed.repo.commit(
      {{"modules/hello/cenv-module.yaml", hello_manifest(8080)}, {"README.md", "modules\n"}});
  const std::string url = "file://" + (bed.tmp.path() / "repo").string();
  bed.f.create(
      "Module", bed.ns, "hello",
      boost::json::object{
          {"source", {{"git", {{"url", url}, {"ref", "main"}, {"subdir", "modules/hello"}}}}}});
  REQUIRE(eventually([&] { return bed.condition("hello", "Ready").rfind("True", 0) == 0; },
                     std::chrono::seconds(60)));
  INFO(bed.condition("hello", "Ready"));
  Object m = bed.get("Module", "hello");
  const boost::json::object& st = *m.status_or_null();
  CHECK(st.at("revision").as_string() == commit);
  CHECK(st.at("version").as_string() == "0.3.0");
  CHECK(boost::json::serialize(st.at("commands").at("greet").at("command")) ==
        R"(["echo","hello"])");
  CHECK(bed.condition("hello", "Fetched").rfind("True", 0) == 0);

  // Its Service: owned by the Module, run by the Service controller until Ready.
  Object svc = bed.get("Service", "hello-web");
  REQUIRE_FALSE(svc.uid().empty());
  CHECK(is_owned_by(svc, m.uid()));
  REQUIRE(eventually([&] { return is_condition_true(bed.get("Service", "hello-web"), "Ready"); },
                     std::chrono::seconds(60)));
  auto running = bed.docker->list_containers(
      {.all = true, .label_filters = bed.names.filters("Service", bed.ns, "hello-web")});
  REQUIRE(running.ok());
  CHECK(running->size() == 1);

  // A new commit on the branch is read on the Environment's next build request.
  const std::string second = bed.repo.commit(
      {{"modules/hello/cenv-module.yaml", hello_manifest(8080)}, {"README.md", "changed\n"}});
  auto env = bed.f.client->get({"Environment", "", bed.ns});
  REQUIRE(env.ok());
  env->metadata()["annotations"] =
      boost::json::object{{kBuildRequestedAtAnnotation, "2027-01-15T08:00:00Z"}};
  REQUIRE(bed.f.client->update(env.value()).ok());
  REQUIRE(eventually(
      [&] {
        Object now = bed.get("Module", "hello");
        return now.status_or_null() &&
               Object::str_field(*now.status_or_null(), "revision") == second;
      },
      std::chrono::seconds(60)));

  // Deleting the Module deletes its Service, and with it the container.
  REQUIRE(bed.f.client->remove({"Module", bed.ns, "hello"}, {}).ok());
  REQUIRE(eventually([&] { return bed.get("Service", "hello-web").uid().empty(); },
                     std::chrono::seconds(60)));
  auto left = bed.docker->list_containers(
      {.all = true, .label_filters = bed.names.filters("Service", bed.ns, "hello-web")});
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("integration: a git Module whose ref does not exist says so on spec.source.git.ref",
          "[integration][modules]") {
  Bed bed;
  bed.repo.commit({{"cenv-module.yaml", hello_manifest(8081)}});
  const std::string url = "file://" + (bed.tmp.path() / "repo").string();
  bed.f.create("Module", bed.ns, "hello",
               boost::json::object{{"source", {{"git", {{"url", url}, {"ref", "v9"}}}}}});
  REQUIRE(eventually(
      [&] { return bed.condition("hello", "Fetched").rfind("False SourceNotFound", 0) == 0; },
      std::chrono::seconds(60)));
  CHECK(bed.condition("hello", "Fetched").find("spec.source.git.ref") != std::string::npos);
}

}  // namespace
}  // namespace cenv
