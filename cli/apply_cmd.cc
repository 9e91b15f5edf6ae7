#include "cli/apply_cmd.h"

#include <functional>
#include <iostream>

#include "api/json_fields.h"
#include "api/write_normalization.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/manifest_reader.h"
#include "cli/module_packing.h"
#include "cli/printers.h"
#include "cli/wait_cmd.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

// The parts of an object an apply sets, to tell "configured" from "unchanged" on a client dry
// run: spec, labels and annotations of the manifest against the live object's.
bool applies_changes(const Object& desired, const Object& live) {
  static const json::object kEmpty;
  const json::object* ds = desired.spec_or_null();
  const json::object* ls = live.spec_or_null();
  if ((ds ? *ds : kEmpty) != (ls ? *ls : kEmpty)) return true;
  for (std::string_view key : {"labels", "annotations"}) {
    const json::object* dm = desired.metadata_or_null();
    const json::object* lm = live.metadata_or_null();
    const json::value* d = dm ? dm->if_contains(key) : nullptr;
    const json::value* l = lm ? lm->if_contains(key) : nullptr;
    if (!d || !d->is_object()) continue;
    if (!l || !l->is_object()) return !d->get_object().empty();
    for (const auto& kv : d->get_object()) {
      const json::value* lv = l->get_object().if_contains(kv.key());
      if (!lv || *lv != kv.value()) return true;
    }
  }
  return false;
}

// --dry-run=client: what the server's validation would say, computed here; then, when a
// controller answers (none is started for this), whether each object would be created or
// changed. Nothing is written.
int apply_client_dry_run(const Context& context, std::vector<ManifestObject>& manifests,
                         const ApplyFlags& flags, OutputFormat format) {
  std::vector<std::string> problems;
  std::vector<WritePrecondition> preconditions;  // one per manifest
  for (ManifestObject& m : manifests) {
    Object& o = m.object;
    std::string where = m.source.empty() ? "" : m.source + ": ";
    auto kind = manifest_kind(o, registry());
    Result<WritePrecondition> normalized =
        kind.ok() ? normalize_for_write(o, *kind.value(), registry(), {flags.applyset})
                  : Result<WritePrecondition>(kind.status());
    if (!normalized.ok()) {
      for (const auto& line : write_problems(normalized.status(), o)) {
        problems.push_back(where + line);
      }
      continue;
    }
    preconditions.push_back(normalized.value());
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "error: " << p << "\n";
    return 1;
  }
  ClientOptions options;
  options.autostart = false;  // a dry run starts nothing
  options.timeout = std::chrono::seconds(10);
  auto client = context.connect(options);
  bool reachable = true;
  std::vector<Object> objects;
  for (size_t i = 0; i < manifests.size(); ++i) {
    ManifestObject& m = manifests[i];
    std::string action = "created";
    if (reachable) {
      auto live = client->get(std::string(m.object.kind()), std::string(m.object.ns()),
                              std::string(m.object.name()));
      // As the server would answer: the version the manifest was read at must be the live one.
      if (live.ok() || live.status().code() == Code::kNotFound) {
        Status held = check_precondition(preconditions[i], m.object, live.ok() ? &*live : nullptr);
        if (!held.ok()) {
          print_error(held);
          return 1;
        }
      }
      if (live.ok()) {
        action = applies_changes(m.object, live.value()) ? "configured" : "unchanged";
      } else if (live.status().code() == Code::kUnavailable) {
        reachable = false;  // no controller: validated only
      } else if (live.status().code() != Code::kNotFound) {
        print_error(live.status());
        return 1;
      }
    }
    if (!reachable) action = "validated";
    if (flags.output.empty()) {
      std::cout << object_ref(m.object) << " " << action << " (dry run)\n";
    } else if (format == OutputFormat::kName) {
      std::cout << object_ref(m.object) << "\n";
    }
    objects.push_back(m.object);
  }
  if (format == OutputFormat::kYaml || format == OutputFormat::kJson) {
    print_objects(objects, objects.size() != 1, format, std::cout);
  }
  return 0;
}

// For an Environment applied with Modules of its own: why its conditions do not describe
// those Modules yet (empty once status.observedModules shows each at its applied generation).
std::string modules_not_seen(const Object& env, const std::vector<Object>& applied) {
  const json::array* seen = array_field(env.status_or_null(), "observedModules");
  for (const Object& m : applied) {
    if (m.kind() != "Module" || m.ns() != env.name()) continue;
    bool found = false;
    if (seen) {
      for (const json::value& v : *seen) {
        const json::object* o = v.if_object();
        if (o && string_field(*o, "name") == m.name() &&
            int64_field(*o, "generation").value_or(0) >= m.generation()) {
          found = true;
          break;
        }
      }
    }
    if (!found) {
      return "the controller has not seen module/" + std::string(m.name()) + " generation " +
             std::to_string(m.generation()) + " yet";
    }
  }
  return "";
}

// For a Service running the Environment's image: why it has not rolled onto the image the
// Environment has now (empty once its status.image is that image, or it names its own).
std::string service_not_rolled(ControllerClient& client, const Object& svc) {
  if (!string_field(svc.spec_or_null(), "image").empty()) return "";
  auto env = client.get("Environment", "", std::string(svc.ns()));
  if (!env.ok()) return "";
  std::string_view want = string_field(env->status_or_null(), "image");
  std::string_view runs = string_field(svc.status_or_null(), "image");
  if (want.empty() || runs == want) return "";
  return "runs " + (runs.empty() ? std::string("no image yet") : std::string(runs)) +
         ", not yet the Environment's " + std::string(want);
}

// --wait: every applied object until it is Ready (a CommandRun until Complete or Failed),
// printing what it still waits for whenever that changes. An object whose controller says it
// is Stalled (it cannot get Ready until its spec or inputs change) fails at once.
int wait_until_ready(const Context& context, const std::vector<Object>& objects,
                     const ApplyFlags& flags) {
  auto timeout = parse_duration(flags.timeout);
  if (!timeout.ok()) {
    print_error(timeout.status(), false);
    return 1;
  }
  auto deadline = std::chrono::system_clock::now() + timeout.value();
  auto client = context.connect();
  static const WaitCondition kReady = WaitCondition::parse("condition=Ready").value();
  static const WaitCondition kComplete = WaitCondition::parse("condition=Complete").value();
  static const WaitCondition kFailed = WaitCondition::parse("condition=Failed").value();
  static const WaitCondition kStalled = WaitCondition::parse("condition=Stalled").value();
  int rc = 0;
  std::vector<std::string> late;
  for (const Object& o : objects) {
    if (o.kind() == "Event") continue;  // a record, with nothing to become ready
    bool run = o.kind() == "CommandRun";
    std::vector<WaitCondition> any_of = run ? std::vector<WaitCondition>{kComplete, kFailed}
                                            : std::vector<WaitCondition>{kReady, kStalled};
    std::string ref = object_ref(o);
    std::function<std::string(const Object&)> not_yet;
    if (o.kind() == "Environment") {
      not_yet = [&objects](const Object& env) { return modules_not_seen(env, objects); };
    } else if (o.kind() == "Service") {
      not_yet = [&client](const Object& svc) { return service_not_rolled(*client, svc); };
    }
    auto outcome = wait_for_object(
        *client, std::string(o.kind()), std::string(o.ns()), std::string(o.name()), any_of,
        deadline,
        [&](const std::string& state) {
          if (std::chrono::system_clock::now() < deadline) {
            std::cerr << "waiting for " << ref << ": " << state << "\n";
          }
        },
        not_yet);
    if (!outcome.ok()) {
      print_error(outcome.status());
      rc = 1;
      continue;
    }
    if (!outcome->met) {
      late.push_back(ref + " (" + outcome->state + ")");
      continue;
    }
    if (run && outcome->met_index == 1) {
      std::cerr << "error: " << ref << " failed\n";
      rc = 1;
      continue;
    }
    if (!run && outcome->met_index == 1) {
      std::cerr << "error: " << ref << " is stalled: " << outcome->state << "\n";
      rc = 1;
      continue;
    }
    std::cout << ref << (run ? " complete" : " ready") << "\n";
  }
  if (!late.empty()) {
    std::cerr << "error: timed out after " << flags.timeout << " waiting for " << late.size()
              << (late.size() == 1 ? " object" : " objects") << " to be ready:\n";
    for (const auto& l : late) std::cerr << "  " << l << "\n";
    rc = 1;
  }
  return rc;
}

}  // namespace

int run_apply(const Context& context, const std::string& ns, const ApplyFlags& flags) {
  if (flags.dry_run != "none" && flags.dry_run != "client" && flags.dry_run != "server") {
    print_error(Status::Invalid("--dry-run: Unsupported value: \"" + flags.dry_run +
                                "\": supported values: \"none\", \"client\", \"server\""),
                false);
    return 1;
  }
  if (flags.wait && flags.dry_run != "none") {
    print_error(Status::Invalid("--wait cannot be used with --dry-run: nothing is applied"), false);
    return 1;
  }
  auto format = parse_output_format(flags.output);
  if (!format.ok()) {
    print_error(format.status(), /*from_server=*/false);
    return 1;
  }
  if (format.value() == OutputFormat::kWide) {
    print_error(Status::Invalid("--output: apply prints name, yaml or json"), false);
    return 1;
  }
  if (flags.prune && flags.applyset.empty()) {
    print_error(Status::Invalid("--prune needs --applyset=NAME: only members of that set are "
                                "ever pruned"),
                false);
    return 1;
  }
  if (flags.wait) {
    auto timeout = parse_duration(flags.timeout);
    if (!timeout.ok()) {
      print_error(timeout.status().with_prefix("--timeout"), false);
      return 1;
    }
  }
  auto manifests = read_manifests(flags.files, flags.recursive);
  if (!manifests.ok()) {
    std::cerr << "error: " << manifests.status().message() << "\n";
    return 1;
  }
  for (auto& m : manifests.value()) {
    if (!ns.empty() && m.object.ns().empty()) {
      const KindInfo* info = registry().find(m.object.kind());
      if (info && info->namespaced) m.object.set_ns(ns);
    }
  }
  // Module folders (spec.source.path) travel with the apply, named by their digest.
  auto packed = pack_module_sources(manifests.value());
  if (!packed.ok()) {
    std::cerr << "error: " << packed.status().message() << "\n";
    return 1;
  }
  if (flags.dry_run == "client") {
    return apply_client_dry_run(context, manifests.value(), flags, format.value());
  }
  v1::ApplyRequest req;
  req.set_field_manager(flags.field_manager);
  req.set_dry_run(flags.dry_run == "server");
  req.set_force(flags.force_conflicts);
  req.set_applyset(flags.applyset);
  req.set_prune(flags.prune);
  req.set_create_only(flags.create);
  const bool names_only =
      !flags.wait && (flags.output.empty() || format.value() == OutputFormat::kName);
  req.set_names_only(names_only);
  for (auto& m : manifests.value()) {
    v1::ApplyObject* o = req.add_objects();
    o->set_json(m.object.to_json());
    o->set_source(m.source);
  }
  for (PackedSource& p : packed.value()) {
    v1::SourceArchive* a = req.add_archives();
    a->set_digest(p.digest);
    a->set_data(std::move(p.data));
  }
  if (Status s = check_request_size(req); !s.ok()) {
    print_error(s, /*from_server=*/false);
    return 1;
  }
  auto resp = context.connect()->apply(req);
  if (!resp.ok()) {
    print_error(resp.status());
    return 1;
  }
  std::string suffix = flags.dry_run == "server" ? " (server dry run)" : "";
  std::vector<Object> objects;
  std::vector<Object> to_wait;
  for (const auto& r : resp->results()) {
    if (names_only) {
      std::cout << object_ref(r.kind(), r.name());
      std::cout << (flags.output.empty() ? " " + r.action() + suffix : std::string()) << "\n";
      continue;
    }
    auto o = Object::from_json(r.json());
    if (!o.ok()) continue;
    if (flags.output.empty()) {
      std::cout << object_ref(o.value()) << " " << r.action() << suffix << "\n";
    } else if (format.value() == OutputFormat::kName) {
      std::cout << object_ref(o.value()) << "\n";
    }
    if (flags.wait && r.action() != "pruned") to_wait.push_back(o.value());
    objects.push_back(std::move(o.value()));
  }
  if (format.value() == OutputFormat::kYaml || format.value() == OutputFormat::kJson) {
    print_objects(objects, objects.size() != 1, format.value(), std::cout);
  }
  std::cout.flush();
  if (flags.wait) return wait_until_ready(context, to_wait, flags);
  return 0;
}

}  // namespace cenv::cli
