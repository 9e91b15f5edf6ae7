#include "cli/update_cmds.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "api/json_patch.h"
#include "api/json_text.h"
#include "api/yaml_codec.h"
#include "cli/common.h"
#include "cli/printers.h"
#include "cli/user_program.h"

namespace cenv::cli {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

Result<ObjectRef> one_ref(const std::vector<std::string>& args) {
  auto refs = resolve_refs(args);
  if (!refs.ok()) return refs.status();
  if (refs->size() != 1) return Status::Invalid("exactly one object, please");
  return refs->front();
}

// metadata.resourceVersion as it is written in `o` (null when absent).
json::value resource_version_field(const Object& o) {
  const json::object* meta = o.metadata_or_null();
  const json::value* v = meta ? meta->if_contains("resourceVersion") : nullptr;
  return v ? *v : json::value();
}

std::string ns_for(const ObjectRef& ref, const std::string& ns) {
  if (!ref.kind->namespaced) return "";
  return ns.empty() ? "default" : ns;
}

}  // namespace

int run_patch(const Context& context, const std::string& ns, const PatchFlags& flags) {
  auto ref = one_ref(flags.args);
  if (!ref.ok()) {
    print_error(ref.status(), false);
    return 1;
  }
  if (flags.type != "merge" && flags.type != "json") {
    print_error(Status::Invalid("--type: Unsupported value: \"" + flags.type +
                                "\": supported values: \"merge\", \"json\""),
                false);
    return 1;
  }
  auto patch_docs = parse_manifest(flags.patch, "--patch");
  if (!patch_docs.ok() || patch_docs->size() != 1) {
    print_error(patch_docs.ok() ? Status::Invalid("--patch: one JSON or YAML value, please")
                                : patch_docs.status(),
                false);
    return 1;
  }
  const json::value& patch = patch_docs->front().value;
  if (auto error = non_finite_number_error(patch)) {
    print_error(Status::Invalid("--patch: " + *error), false);
    return 1;
  }
  auto client = context.connect();
  std::string target_ns = ns_for(ref.value(), ns);
  for (int attempt = 0;; ++attempt) {
    auto live = client->get(ref->kind->kind, target_ns, ref->name);
    if (!live.ok()) {
      print_error(live.status());
      return 1;
    }
    json::value doc = live->json();
    if (flags.type == "merge") {
      apply_merge_patch(doc, patch);
    } else if (Status s = apply_json_patch(doc, patch); !s.ok()) {
      print_error(s, false);
      return 1;
    }
    if (!doc.is_object()) {
      print_error(Status::Invalid("the patch must leave an object"), false);
      return 1;
    }
    Object patched(doc.get_object());
    std::string ref_text = lower_kind(ref->kind->kind) + "/" + ref->name;
    if (patched == live.value()) {
      std::cout << ref_text << " patched (no change)\n";
      return 0;
    }
    // A resourceVersion the patch sets is its precondition, as in Kubernetes: sent as it is, and
    // a Conflict is then the answer rather than a reason to read the object again.
    bool precondition = resource_version_field(patched) != resource_version_field(live.value());
    if (!precondition) patched.set_resource_version(live->resource_version());
    auto stored = client->update(patched, flags.field_manager);
    if (stored.ok()) {
      std::cout << ref_text << " patched\n";
      return 0;
    }
    if (!precondition && stored.status().code() == Code::kConflict && attempt < 4) continue;
    print_error(stored.status());
    return 1;
  }
}

int run_edit(const Context& context, const std::string& ns, const EditFlags& flags) {
  auto ref = one_ref(flags.args);
  if (!ref.ok()) {
    print_error(ref.status(), false);
    return 1;
  }
  auto client = context.connect();
  std::string target_ns = ns_for(ref.value(), ns);
  auto live = client->get(ref->kind->kind, target_ns, ref->name);
  if (!live.ok()) {
    print_error(live.status());
    return 1;
  }
  json::object shown = live->json();
  shown["metadata"].get_object().erase("managedFields");
  bool as_json = flags.output == "json";
  std::string original = as_json ? to_json_text(shown, true) : to_yaml(shown);
  fs::path file = fs::temp_directory_path() /
                  ("cenv-edit-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::random_device{}()) + (as_json ? ".json" : ".yaml"));
  {
    std::ofstream out(file);
    out << "# Edit the object below; lines starting with '#' are ignored. Save and close the\n"
           "# editor to update it; an unchanged file cancels the edit.\n"
        << original;
  }
  const char* editor = std::getenv("CENV_EDITOR");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  std::string cmd = std::string(editor && *editor ? editor : "vi") + " '" + file.string() + "'";
  int status = std::system(with_umask(flags.editor_umask, cmd).c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "error: the editor exited with an error; the edit is kept in " << file.string()
              << "\n";
    return 1;
  }
  auto docs = read_manifest_file(file.string());
  if (!docs.ok() || docs->size() != 1 || !docs->front().value.is_object()) {
    std::cerr << "error: "
              << (docs.ok() ? "the file must hold one object" : docs.status().message())
              << "; the edit is kept in " << file.string() << "\n";
    return 1;
  }
  if (auto error = non_finite_number_error(docs->front().value)) {
    std::cerr << "error: " << *error << "; the edit is kept in " << file.string() << "\n";
    return 1;
  }
  // managedFields were hidden from the editor; the server keeps its own record of them.
  Object edited(docs->front().value.get_object());
  std::string ref_text = lower_kind(ref->kind->kind) + "/" + ref->name;
  if (edited.json() == shown) {
    std::cout << "Edit cancelled, no changes made.\n";
    fs::remove(file);
    return 0;
  }
  auto stored = client->update(edited, flags.field_manager);
  if (!stored.ok()) {
    print_error(stored.status());
    std::cerr << "error: the edit is kept in " << file.string() << "\n";
    return 1;
  }
  fs::remove(file);
  std::cout << ref_text << " edited\n";
  return 0;
}

}  // namespace cenv::cli
