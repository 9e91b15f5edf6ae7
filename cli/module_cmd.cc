#include "cli/module_cmd.h"

#include <filesystem>
#include <iostream>

#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/module_packing.h"
#include "cli/module_source_arg.h"
#include "cli/module_views.h"
#include "cli/printers.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

// The Module `module add` applies, with its source's directory for packing.
Result<ManifestObject> module_to_add(const std::string& ns, const ModuleAddFlags& flags) {
  auto options = parse_option_values(flags.set);
  if (!options.ok()) return options.status();
  if (is_git_url(flags.source)) {
    auto git = parse_git_source(flags.source, flags.ref, flags.subdir);
    if (!git.ok()) return git.status();
    std::string name = flags.name;
    if (name.empty()) {
      auto derived = module_name_from_git(git.value());
      if (!derived.ok()) return derived.status();
      name = derived.value();
    }
    json::object spec_git{{"url", git->url}};
    if (!git->ref.empty()) spec_git["ref"] = git->ref;
    if (!git->subdir.empty()) spec_git["subdir"] = git->subdir;
    json::object source{{"git", std::move(spec_git)}};
    return ManifestObject{module_object(name, ns, std::move(source), std::move(options.value())),
                          "cenv module add", std::filesystem::current_path()};
  }
  if (!flags.ref.empty() || !flags.subdir.empty()) {
    return Status::Invalid("--ref and --subdir are for Git sources; \"" + flags.source +
                           "\" is a folder");
  }
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (ec) return Status::Invalid("cannot read the working directory: " + ec.message());
  auto local = locate_local_source(flags.source, cwd);
  if (!local.ok()) return local.status();
  std::string name = flags.name;
  if (name.empty()) {
    auto from_manifest = manifest_name_in(local->folder);
    if (!from_manifest.ok()) return from_manifest.status();
    name = from_manifest.value();
  }
  json::object source{{"path", local->path}};
  return ManifestObject{module_object(name, ns, std::move(source), std::move(options.value())),
                        "cenv module add", local->dir};
}

Object for_output(Object o) {
  o.metadata().erase("managedFields");
  return o;
}

}  // namespace

int run_module_add(const Context& context, const std::string& ns_flag,
                   const ModuleAddFlags& flags) {
  const std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto module = module_to_add(ns, flags);
  if (!module.ok()) {
    print_error(module.status(), false);
    return 1;
  }
  std::vector<ManifestObject> manifests{std::move(module.value())};
  auto packed = pack_module_sources(manifests);
  if (!packed.ok()) {
    print_error(packed.status(), false);
    return 1;
  }
  v1::ApplyRequest req;
  req.set_field_manager(kModuleAddFieldManager);
  req.set_force(flags.force_conflicts);
  v1::ApplyObject* o = req.add_objects();
  o->set_json(manifests.front().object.to_json());
  o->set_source(manifests.front().source);
  for (PackedSource& p : packed.value()) {
    v1::SourceArchive* a = req.add_archives();
    a->set_digest(p.digest);
    a->set_data(std::move(p.data));
  }
  auto resp = context.connect()->apply(req);
  if (!resp.ok()) {
    print_error(resp.status());
    return 1;
  }
  for (const auto& r : resp->results()) {
    auto applied = Object::from_json(r.json());
    if (applied.ok()) std::cout << object_ref(applied.value()) << " " << r.action() << "\n";
  }
  return 0;
}

int run_module_list(const Context& context, const std::string& ns_flag, const std::string& output,
                    bool no_headers) {
  auto format = parse_output_format(output);
  if (!format.ok()) {
    print_error(format.status(), false);
    return 1;
  }
  const std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto list = context.connect()->list("Module", ns, "");
  if (!list.ok()) {
    print_error(list.status());
    return 1;
  }
  std::vector<Object>& modules = list->first;
  switch (format.value()) {
    case OutputFormat::kName:
      for (const Object& m : modules) std::cout << object_ref(m) << "\n";
      return 0;
    case OutputFormat::kYaml:
    case OutputFormat::kJson: {
      std::vector<Object> out;
      for (Object& m : modules) out.push_back(for_output(std::move(m)));
      print_objects(out, true, format.value(), std::cout);
      return 0;
    }
    default:
      break;
  }
  if (modules.empty()) {
    std::cerr << "No modules found in " << ns << " namespace.\n";
    return 0;
  }
  print_module_table(modules, !no_headers, std::chrono::system_clock::now(), std::cout);
  return 0;
}

int run_module_show(const Context& context, const std::string& ns_flag, const std::string& name,
                    const std::string& output) {
  auto format = parse_output_format(output);
  if (!format.ok() || format.value() == OutputFormat::kWide) {
    print_error(Status::Invalid("--output: module show prints yaml, json or name"), false);
    return 1;
  }
  const std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto client = context.connect();
  auto module = client->get("Module", ns, name);
  if (!module.ok()) {
    print_error(module.status());
    return 1;
  }
  if (format.value() == OutputFormat::kName) {
    std::cout << object_ref(module.value()) << "\n";
    return 0;
  }
  if (format.value() != OutputFormat::kTable) {
    print_objects({for_output(std::move(module.value()))}, false, format.value(), std::cout);
    return 0;
  }
  auto services = client->list("Service", ns, "");
  if (!services.ok()) {
    print_error(services.status());
    return 1;
  }
  print_module_details(module.value(), services->first, std::chrono::system_clock::now(),
                       std::cout);
  return 0;
}

int run_module_tree(const Context& context, const std::string& ns_flag) {
  const std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto client = context.connect();
  auto environment = client->get("Environment", "", ns);
  if (!environment.ok() && environment.status().code() != Code::kNotFound) {
    print_error(environment.status());
    return 1;
  }
  auto modules = client->list("Module", ns, "");
  if (!modules.ok()) {
    print_error(modules.status());
    return 1;
  }
  print_module_tree(ns, environment.ok() ? &environment.value() : nullptr, modules->first,
                    std::cout);
  return environment.ok() ? 0 : 1;
}

}  // namespace cenv::cli
