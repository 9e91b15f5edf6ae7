// `cenv module add` arguments: SOURCE kinds, Git URL#REF, names derived from URLs, local
// folders relative to the working directory, and --set typing.

#include "cli/module_source_arg.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace cenv::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cenv-modarg-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = fs::canonical(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST_CASE("module add tells Git URLs from folders", "[cli][module]") {
  struct Row {
    const char* source;
    bool git;
  };
  const Row rows[] = {
      {"https://example.com/org/tools.git", true},
      {"http://example.com/tools", true},
      {"ssh://git@example.com/tools.git", true},
      {"git://example.com/tools", true},
      {"file:///srv/git/tools", true},
      {"git@github.com:org/tools.git", true},
      {"./modules/jq", false},
      {"modules/jq", false},
      {"/abs/path/jq", false},
      {"dir/with@at:colon", false},  // a '/' before the ':' is a path, as git reads it
      {"user@host", false},
      {"", false},
  };
  for (const Row& r : rows) {
    INFO(r.source);
    CHECK(is_git_url(r.source) == r.git);
  }
}

TEST_CASE("module add reads URL#REF and --ref and refuses the two disagreeing", "[cli][module]") {
  auto plain = parse_git_source("https://h/x.git", "", "");
  REQUIRE(plain.ok());
  CHECK(plain->url == "https://h/x.git");
  CHECK(plain->ref.empty());

  auto hashed = parse_git_source("file:///srv/x#v1.2.0", "", "mods/x");
  REQUIRE(hashed.ok());
  CHECK(hashed->url == "file:///srv/x");
  CHECK(hashed->ref == "v1.2.0");
  CHECK(hashed->subdir == "mods/x");

  auto flag = parse_git_source("file:///srv/x", "main", "");
  REQUIRE(flag.ok());
  CHECK(flag->ref == "main");

  auto same = parse_git_source("file:///srv/x#main", "main", "");
  CHECK(same.ok());
  auto both = parse_git_source("file:///srv/x#dev", "main", "");
  REQUIRE_FALSE(both.ok());
  CHECK(both.status().message().find("--ref") != std::string::npos);
}

TEST_CASE("module add names a Git module after its URL or subdir", "[cli][module]") {
  struct Row {
    GitSourceArg git;
    const char* name;  // "" when refused
  };
  const Row rows[] = {
      {{"https://example.com/org/jq-tools.git", "", ""}, "jq-tools"},
      {{"https://example.com/org/jq-tools/", "", ""}, "jq-tools"},
      {{"git@github.com:org/My_Tools.git", "", ""}, "my-tools"},
      {{"git@github.com:tools.git", "", ""}, "tools"},
      {{"file:///srv/git/mono.git", "", "modules/python3.11/"}, "python3-11"},
      {{"file:///srv/git/tools.git", "", "."}, "tools"},
      {{"https://example.com/.git", "", ""}, ""},
      {{"https://example.com/___", "", ""}, ""},
  };
  for (const Row& r : rows) {
    INFO(r.git.url << " subdir " << r.git.subdir);
    auto name = module_name_from_git(r.git);
    if (std::string(r.name).empty()) {
      REQUIRE_FALSE(name.ok());
      CHECK(name.status().message().find("--name") != std::string::npos);
    } else {
      REQUIRE(name.ok());
      CHECK(name.value() == r.name);
    }
  }
}

TEST_CASE("module add sends a folder relative to the working directory", "[cli][module]") {
  TempDir tmp;
  write(tmp.path / "work/modules/jq/cenv-module.yaml", "name: jq\nversion: 1.0.0\n");
  write(tmp.path / "outside/cenv-module.yaml", "name: outside\nversion: 1.0.0\n");
  fs::path cwd = tmp.path / "work";

  auto inside = locate_local_source("modules/jq", cwd);
  REQUIRE(inside.ok());
  CHECK(inside->folder == cwd / "modules/jq");
  CHECK(inside->dir == cwd);
  CHECK(inside->path == "modules/jq");

  auto itself = locate_local_source(".", cwd / "modules/jq");
  REQUIRE(itself.ok());
  CHECK(itself->dir == cwd / "modules/jq");
  CHECK(itself->path == ".");

  // Outside the working directory: relative to its parent, which pack_module_sources accepts.
  auto out = locate_local_source("../outside", cwd);
  REQUIRE(out.ok());
  CHECK(out->dir == tmp.path);
  CHECK(out->path == "outside");
  auto absolute = locate_local_source((tmp.path / "outside").string(), cwd);
  REQUIRE(absolute.ok());
  CHECK(absolute->path == "outside");

  auto missing = locate_local_source("modules/nope", cwd);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("https://") != std::string::npos);

  auto file = locate_local_source("modules/jq/cenv-module.yaml", cwd);
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == Code::kInvalid);
}

TEST_CASE("module add takes the name from the folder's manifest and refuses a bad one",
          "[cli][module]") {
  TempDir tmp;
  write(tmp.path / "good/cenv-module.yaml", "name: good-one\nversion: 0.1.0\n");
  write(tmp.path / "bad/cenv-module.yaml", "name: Bad\nversion: 1\n");
  fs::create_directories(tmp.path / "empty");

  auto good = manifest_name_in(tmp.path / "good");
  REQUIRE(good.ok());
  CHECK(good.value() == "good-one");

  auto bad = manifest_name_in(tmp.path / "bad");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("cenv-module.yaml") != std::string::npos);
  CHECK(bad.status().message().find("name") != std::string::npos);

  auto none = manifest_name_in(tmp.path / "empty");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Code::kNotFound);
}

TEST_CASE("module add types --set values as booleans integers or strings", "[cli][module]") {
  struct Row {
    const char* arg;
    const char* key;
    json::value value;
  };
  const Row rows[] = {
      {"shout=true", "shout", true},
      {"shout=false", "shout", false},
      {"jobs=4", "jobs", 4},
      {"offset=-12", "offset", -12},
      {"greeting=Hello world", "greeting", "Hello world"},
      {"version=1.2", "version", "1.2"},
      {"flag=True", "flag", "True"},
      {"empty=", "empty", ""},
      {"huge=99999999999999999999", "huge", "99999999999999999999"},
      {"url=a=b", "url", "a=b"},
      {"dash=-", "dash", "-"},
  };
  for (const Row& r : rows) {
    INFO(r.arg);
    auto parsed = parse_option_values({r.arg});
    REQUIRE(parsed.ok());
    REQUIRE(parsed->contains(r.key));
    CHECK(parsed->at(r.key) == r.value);
  }
  auto later = parse_option_values({"a=1", "a=two"});
  REQUIRE(later.ok());
  CHECK(later->at("a") == "two");
  for (const char* bad : {"novalue", "=x"}) {
    INFO(bad);
    auto refused = parse_option_values({bad});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message().find("KEY=VALUE") != std::string::npos);
  }
}

TEST_CASE("module add writes a Module with the source and the options", "[cli][module]") {
  Object m = module_object("jq", "dev", json::object{{"path", "modules/jq"}},
                           json::object{{"pretty", true}});
  CHECK(m.kind() == "Module");
  CHECK(m.name() == "jq");
  CHECK(m.ns() == "dev");
  CHECK(m.spec().at("source").at("path") == "modules/jq");
  CHECK(m.spec().at("options").at("pretty") == true);
  Object bare = module_object("jq", "dev", json::object{{"path", "x"}}, {});
  CHECK_FALSE(bare.spec().contains("options"));
}

}  // namespace
}  // namespace cenv::cli
