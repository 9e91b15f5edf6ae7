#include "cli/diff_cmd.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "api/yaml_codec.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/manifest_reader.h"
#include "cli/user_program.h"

namespace cenv::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// What diff shows of an object: without the bookkeeping that changes on every write.
json::value shown(const Object& o) {
  json::object out = o.json();
  if (auto m = out.find("metadata"); m != out.end() && m->value().is_object()) {
    m->value().get_object().erase("managedFields");
  }
  return out;
}

}  // namespace

int run_diff(const Context& context, const std::string& ns, const DiffFlags& flags) {
  auto manifests = read_manifests(flags.files, flags.recursive);
  if (!manifests.ok()) {
    std::cerr << "error: " << manifests.status().message() << "\n";
    return 2;
  }
  v1::ApplyRequest req;
  req.set_dry_run(true);
  req.set_field_manager(flags.field_manager);
  req.set_force(flags.force_conflicts);
  for (auto& m : manifests.value()) {
    if (!ns.empty() && m.object.ns().empty()) {
      const KindInfo* info = registry().find(m.object.kind());
      if (info && info->namespaced) m.object.set_ns(ns);
    }
    v1::ApplyObject* o = req.add_objects();
    o->set_json(m.object.to_json());
    o->set_source(m.source);
  }
  if (Status s = check_request_size(req); !s.ok()) {
    print_error(s, /*from_server=*/false);
    return 2;
  }
  auto client = context.connect();
  auto resp = client->apply(req);
  if (!resp.ok()) {
    print_error(resp.status());
    return 2;
  }
  fs::path root = fs::temp_directory_path() / ("cenv-diff-" + std::to_string(getpid()) + "-" +
                                               std::to_string(std::random_device{}()));
  fs::create_directories(root / "LIVE");
  fs::create_directories(root / "MERGED");
  bool any = false;
  for (const auto& r : resp->results()) {
    if (r.action() == "unchanged") continue;
    auto merged = Object::from_json(r.json());
    if (!merged.ok()) continue;
    std::string file = std::string(kApiVersion.substr(0, kApiVersion.find('/'))) + "." + r.kind() +
                       "." + (r.namespace_().empty() ? "" : r.namespace_() + ".") + r.name();
    std::ofstream(root / "MERGED" / file) << to_yaml(shown(merged.value()));
    if (r.action() != "created") {
      auto live = client->get(r.kind(), r.namespace_(), r.name());
      if (live.ok()) std::ofstream(root / "LIVE" / file) << to_yaml(shown(live.value()));
    }
    any = true;
  }
  int rc = 0;
  if (any) {
    // As kubectl does: an external `diff -u -N`, or $CENV_EXTERNAL_DIFF.
    const char* external = std::getenv("CENV_EXTERNAL_DIFF");
    std::string program = external && *external ? external : "diff -u -N";
    std::string cmd = "cd '" + root.string() + "' && " + program + " LIVE MERGED";
    int status = std::system(with_umask(flags.program_umask, cmd).c_str());
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return rc;
}

}  // namespace cenv::cli
