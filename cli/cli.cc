#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "api/kinds.h"
#include "api/version.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/api_client.h"
#include "cli/apply_cmd.h"
#include "cli/common.h"
#include "cli/controller_cmd.h"
#include "cli/db_cmd.h"
#include "cli/describe_cmd.h"
#include "cli/diff_cmd.h"
#include "cli/events_cmd.h"
#include "cli/explain_cmd.h"
#include "cli/home.h"
#include "cli/logs_cmd.h"
#include "cli/manifest_reader.h"
#include "cli/printers.h"
#include "cli/replace_cmd.h"
#include "cli/run_cmd.h"
#include "cli/update_cmds.h"
#include "cli/wait_cmd.h"

namespace cenv::cli {

namespace {

struct GlobalOptions {
  std::string ns;
};

// ---- get --------------------------------------------------------------------------------

struct GetFlags {
  std::vector<std::string> args;
  bool all_namespaces = false;
  std::string selector;
  std::string output;
  bool no_headers = false;
  bool watch = false;
  bool watch_only = false;
  bool show_managed_fields = false;
};

// kubectl hides metadata.managedFields unless asked.
Object for_output(Object o, const GetFlags& flags) {
  if (!flags.show_managed_fields) o.metadata().erase("managedFields");
  return o;
}

// `get -w`: the current objects (unless --watch-only), then every change as it happens.
int run_get_watch(const GetFlags& flags, const KindInfo& info,
                  const std::vector<std::string>& names, const std::string& ns,
                  OutputFormat format) {
  auto client = ApiClient::local(Home::from_env());
  bool header_printed = flags.no_headers;
  bool initial = true;
  Status s = client->watch(
      info.kind, info.namespaced ? ns : "", flags.selector, "",
      [&](const std::string& type, const Object& o) {
        if (type == "BOOKMARK") {
          initial = false;  // the first bookmark closes the initial list
          return true;
        }
        if (initial && flags.watch_only) return true;
        if (!names.empty() && std::find(names.begin(), names.end(), o.name()) == names.end()) {
          return true;
        }
        switch (format) {
          case OutputFormat::kName:
            std::cout << object_ref(o) << "\n";
            break;
          case OutputFormat::kYaml:
            std::cout << "---\n";
            print_objects({for_output(o, flags)}, false, format, std::cout);
            break;
          case OutputFormat::kJson:
            print_objects({for_output(o, flags)}, false, format, std::cout);
            break;
          default: {
            TableOptions options;
            options.wide = format == OutputFormat::kWide;
            options.with_namespace = flags.all_namespaces;
            options.headers = !header_printed;
            header_printed = true;
            print_table(info, {o}, options, std::chrono::system_clock::now(), std::cout);
          }
        }
        std::cout.flush();
        return true;
      });
  if (!s.ok()) {
    print_error(s);
    return 1;
  }
  return 0;
}

int run_get(const GlobalOptions& global, const GetFlags& flags) {
  auto format = parse_output_format(flags.output);
  if (!format.ok()) {
    print_error(format.status(), /*from_server=*/false);
    return 1;
  }
  if (flags.args.empty()) {
    std::cerr << "error: you must specify the type of resource to get. Use \"cenv "
                 "api-resources\" for a complete list of supported resources.\n";
    return 1;
  }
  // (kind, names) in the order asked: "svc web db", "svc,env", "svc/web env/demo".
  std::vector<std::pair<const KindInfo*, std::vector<std::string>>> requests;
  bool slash_form = flags.args[0].find('/') != std::string::npos;
  if (slash_form) {
    for (const auto& a : flags.args) {
      auto slash = a.find('/');
      if (slash == std::string::npos) {
        std::cerr << "error: there is no need to specify a resource type as a separate "
                     "argument when passing arguments in resource/name form\n";
        return 1;
      }
      auto info = resolve_kind(a.substr(0, slash));
      if (!info.ok()) {
        print_error(info.status(), /*from_server=*/false);
        return 1;
      }
      requests.push_back({info.value(), {a.substr(slash + 1)}});
    }
  } else {
    std::vector<std::string> kinds = split(flags.args[0], ',');
    if (kinds.size() == 1 && kinds[0] == "all") {
      kinds.clear();
      for (const auto& k : registry().kinds()) {
        // As kubectl's "all", Events are not part of it (`cenv events` shows them).
        if (k.namespaced && k.kind != "Event") kinds.push_back(k.kind);
      }
    }
    std::vector<std::string> names(flags.args.begin() + 1, flags.args.end());
    if (kinds.size() > 1 && !names.empty()) {
      std::cerr << "error: names cannot be given with more than one resource type\n";
      return 1;
    }
    for (const auto& k : kinds) {
      auto info = resolve_kind(k);
      if (!info.ok()) {
        print_error(info.status(), /*from_server=*/false);
        return 1;
      }
      requests.push_back({info.value(), names});
    }
  }
  bool multi_kind = requests.size() > 1 || flags.args[0] == "all";
  std::string ns = flags.all_namespaces ? "" : (global.ns.empty() ? "default" : global.ns);
  if (flags.watch || flags.watch_only) {
    if (requests.size() != 1) {
      std::cerr << "error: you may only watch one resource type at a time\n";
      return 1;
    }
    return run_get_watch(flags, *requests[0].first, requests[0].second, ns, format.value());
  }
  auto client = ApiClient::local(Home::from_env());
  int rc = 0;
  bool printed_table = false;
  std::vector<Object> collected;  // for yaml/json/name
  size_t named = 0;
  auto now = std::chrono::system_clock::now();
  for (const auto& [info, names] : requests) {
    std::vector<Object> objects;
    if (names.empty()) {
      auto list = client->list(info->kind, info->namespaced ? ns : "", flags.selector);
      if (!list.ok()) {
        print_error(list.status());
        return 1;
      }
      objects = std::move(list->first);
    } else {
      for (const auto& name : names) {
        ++named;
        auto obj = client->get(info->kind, info->namespaced ? ns : "", name);
        if (!obj.ok()) {
          print_error(obj.status());
          rc = 1;
          continue;
        }
        objects.push_back(std::move(obj.value()));
      }
    }
    if (format.value() == OutputFormat::kTable || format.value() == OutputFormat::kWide) {
      if (objects.empty()) continue;
      if (printed_table) std::cout << "\n";
      TableOptions options;
      options.wide = format.value() == OutputFormat::kWide;
      options.with_namespace = flags.all_namespaces;
      options.with_kind_prefix = multi_kind;
      options.headers = !flags.no_headers;
      print_table(*info, objects, options, now, std::cout);
      printed_table = true;
    } else {
      for (auto& o : objects) collected.push_back(for_output(std::move(o), flags));
    }
  }
  if (format.value() == OutputFormat::kName) {
    for (const auto& o : collected) std::cout << object_ref(o) << "\n";
  } else if (format.value() == OutputFormat::kYaml || format.value() == OutputFormat::kJson) {
    bool single = named == 1 && requests.size() == 1 && collected.size() == 1;
    if (!collected.empty() || !single) print_objects(collected, !single, format.value(), std::cout);
  } else if (!printed_table && rc == 0) {
    bool cluster_only = std::all_of(requests.begin(), requests.end(),
                                    [](const auto& r) { return !r.first->namespaced; });
    if (flags.all_namespaces || cluster_only) {
      std::cerr << "No resources found\n";
    } else {
      std::cerr << "No resources found in " << ns << " namespace.\n";
    }
  }
  return rc;
}

// ---- delete -----------------------------------------------------------------------------

struct DeleteFlags {
  std::vector<std::string> args;
  std::vector<std::string> files;
  bool recursive = false;
  bool ignore_not_found = false;
  std::string cascade = "background";
  bool wait = true;
  std::string timeout = "60s";
  bool purge = false;
};

// Marks Service `name` in `ns` so that deleting it removes its volumes too (the annotation
// the Service reconciler reads). Retries a conflicting update a few times.
Status mark_for_purge(ApiClient& client, const std::string& ns, const std::string& name) {
  for (int attempt = 0;; ++attempt) {
    auto svc = client.get("Service", ns, name);
    if (!svc.ok()) return svc.status();
    Object obj = std::move(svc).value();
    auto& annotations = obj.metadata()["annotations"];
    if (!annotations.is_object()) annotations = boost::json::object();
    if (const auto* v = annotations.get_object().if_contains("cenv.io/purge-volumes");
        v && v->is_string() && v->get_string() == "true") {
      return Status::Ok();
    }
    annotations.get_object()["cenv.io/purge-volumes"] = "true";
    auto updated = client.update(obj, "cenv-delete");
    if (updated.ok() || updated.status().code() != Code::kConflict || attempt >= 4) {
      return updated.status();
    }
  }
}

int run_delete(const GlobalOptions& global, const DeleteFlags& flags) {
  struct Target {
    std::string kind, ns, name;
    bool namespaced;
  };
  std::vector<Target> targets;
  if (!flags.files.empty()) {
    if (!flags.args.empty()) {
      std::cerr << "error: names cannot be provided when a path is specified\n";
      return 1;
    }
    auto manifests = read_manifests(flags.files, flags.recursive);
    if (!manifests.ok()) {
      std::cerr << "error: " << manifests.status().message() << "\n";
      return 1;
    }
    for (const auto& m : manifests.value()) {
      auto info = resolve_kind(std::string(m.object.kind()));
      if (!info.ok()) {
        std::cerr << "error: " << m.source << ": " << info.status().message() << "\n";
        return 1;
      }
      std::string ns(m.object.ns());
      if (ns.empty()) ns = global.ns.empty() ? "default" : global.ns;
      targets.push_back({info.value()->kind, info.value()->namespaced ? ns : "",
                         std::string(m.object.name()), info.value()->namespaced});
    }
    // Objects before the Environments that hold them, so each delete is reported once.
    std::stable_sort(targets.begin(), targets.end(),
                     [](const Target& a, const Target& b) { return a.namespaced > b.namespaced; });
  } else {
    auto refs = resolve_refs(flags.args);
    if (!refs.ok()) {
      print_error(refs.status(), /*from_server=*/false);
      return 1;
    }
    std::string ns = global.ns.empty() ? "default" : global.ns;
    for (const auto& r : refs.value()) {
      targets.push_back({r.kind->kind, r.kind->namespaced ? ns : "", r.name, r.kind->namespaced});
    }
  }
  if (flags.cascade != "background" && flags.cascade != "foreground" && flags.cascade != "orphan") {
    print_error(Status::Invalid("--cascade: Unsupported value: \"" + flags.cascade +
                                "\": supported values: \"background\", \"foreground\", "
                                "\"orphan\""),
                false);
    return 1;
  }
  auto timeout = parse_duration(flags.timeout);
  if (!timeout.ok()) {
    print_error(timeout.status(), false);
    return 1;
  }
  auto client = ApiClient::local(Home::from_env());
  int rc = 0;
  std::vector<const Target*> waiting;
  for (const auto& t : targets) {
    if (flags.purge && (t.kind == "Service" || t.kind == "Environment")) {
      // --purge: the Services' volumes go with them (an Environment's: every Service in it).
      std::vector<std::string> services;
      if (t.kind == "Service") {
        services.push_back(t.name);
      } else if (auto listed = client->list("Service", t.name, ""); listed.ok()) {
        for (const Object& o : listed->first) services.emplace_back(o.name());
      }
      std::string svc_ns = t.kind == "Service" ? t.ns : t.name;
      for (const auto& name : services) {
        Status marked = mark_for_purge(*client, svc_ns, name);
        if (!marked.ok() && !(marked.code() == Code::kNotFound && flags.ignore_not_found)) {
          print_error(marked);
          rc = 1;
        }
      }
    }
    auto deleted = client->remove(t.kind, t.ns, t.name, flags.cascade);
    if (!deleted.ok()) {
      if (deleted.status().code() == Code::kNotFound && flags.ignore_not_found) continue;
      print_error(deleted.status());
      rc = 1;
      continue;
    }
    std::cout << lower_kind(t.kind) << " \"" << t.name << "\" deleted\n";
    if (!deleted->empty() && deleted->front().metadata().contains("deletionTimestamp")) {
      waiting.push_back(&t);
    }
  }
  // Like kubectl, wait until objects held by finalizers are really gone.
  if (flags.wait && !waiting.empty()) {
    auto deadline = std::chrono::system_clock::now() + timeout.value();
    WaitCondition gone = WaitCondition::parse("delete").value();
    for (const Target* t : waiting) {
      std::cerr << "waiting for " << lower_kind(t->kind) << " \"" << t->name
                << "\" to be finalized...\n";
      bool done = false;
      Status s = client->watch(
          t->kind, t->ns, "", "",
          [&](const std::string& type, const Object& o) {
            if (type == "DELETED" && o.name() == t->name) {
              done = true;
              return false;
            }
            return true;
          },
          deadline);
      if (!done) {
        auto still = client->get(t->kind, t->ns, t->name);
        done = !still.ok() && still.status().code() == Code::kNotFound;
      }
      if (!done) {
        std::cerr << "error: timed out waiting for " << lower_kind(t->kind) << " \"" << t->name
                  << "\" to be deleted: finalizers remain (" << s.message() << ")\n";
        rc = 1;
      }
    }
  }
  return rc;
}

// ---- describe ----------------------------------------------------------------------------

int run_describe(const GlobalOptions& global, const std::vector<std::string>& args) {
  auto refs = resolve_refs(args);
  if (!refs.ok()) {
    print_error(refs.status(), false);
    return 1;
  }
  std::string ns = global.ns.empty() ? "default" : global.ns;
  auto client = ApiClient::local(Home::from_env());
  const KindInfo* event_kind = registry().find("Event");
  int rc = 0;
  bool first = true;
  for (const ObjectRef& ref : refs.value()) {
    auto obj = client->get(ref.kind->kind, ref.kind->namespaced ? ns : "", ref.name);
    if (!obj.ok()) {
      print_error(obj.status());
      rc = 1;
      continue;
    }
    std::vector<Object> events;
    if (event_kind) {
      // Events about a cluster-scoped object live in the namespace "default".
      std::string event_ns = ref.kind->namespaced ? ns : "default";
      auto list = client->list(event_kind->kind, event_ns, "");
      if (list.ok()) {
        for (auto& e : list->first) {
          auto it = e.json().find("involvedObject");
          if (it == e.json().end() || !it->value().is_object()) continue;
          const auto& inv = it->value().get_object();
          if (Object::str_field(inv, "uid") == obj->uid()) events.push_back(std::move(e));
        }
      }
    }
    if (!first) std::cout << "\n\n";
    first = false;
    describe_object(obj.value(), events, std::chrono::system_clock::now(), std::cout);
  }
  return rc;
}

// ---- small verbs --------------------------------------------------------------------------

int run_version(bool client_only) {
  std::cout << "Client Version: " << api::version_string() << "\n";
  if (client_only) return 0;
  ClientOptions options;
  options.autostart = false;
  options.timeout = std::chrono::seconds(5);
  auto hello = ApiClient::local(Home::from_env(), options)->hello();
  if (hello.ok()) {
    std::cout << "Server Version: " << hello->server_version() << "\n";
  } else {
    std::cout << "Server Version: unavailable (no controller answers; `cenv controller start`)\n";
  }
  return 0;
}

int run_api_resources() {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}};
  for (const auto& k : registry().kinds()) {
    std::string shorts;
    for (const auto& s : k.short_names) shorts += (shorts.empty() ? "" : ",") + s;
    rows.push_back(
        {k.plural, shorts, std::string(kApiVersion), k.namespaced ? "true" : "false", k.kind});
  }
  std::vector<size_t> w(5, 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::cout << r[i];
      if (i + 1 < r.size()) std::cout << std::string(w[i] - r[i].size() + 3, ' ');
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"cenv: a Kubernetes-style declarative controller for containerized environments"};
  app.name("cenv");
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions global;
  app.add_option("-n,--namespace", global.ns, "Namespace (Environment) to act in");

  int rc = 0;

  // controller
  auto* controller = app.add_subcommand("controller", "Run or manage the local controller");
  controller->require_subcommand(1);
  ControllerRunOptions run_options;
  auto* ctl_run = controller->add_subcommand("run", "Run the controller in the foreground");
  ctl_run->add_option(
      "--store", run_options.store,
      "Store: sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB (default $CENV_HOME/cenv.db)");
  ctl_run->add_option("--socket", run_options.socket,
                      "Unix socket to serve on (default $CENV_HOME/run/controller.sock)");
  ctl_run->add_option("--http-address", run_options.http_address,
                      "HOST:PORT for /healthz, /readyz and /metrics (default 127.0.0.1:0)");
  ctl_run->add_option("--log-level", run_options.log_level,
                      "trace, debug, info, warn or error (default info)");
  ctl_run->callback([&] { rc = controller_run(Home::from_env(), run_options); });
  controller->add_subcommand("start", "Start the local controller in the background")
      ->callback([&] { rc = controller_start(Home::from_env()); });
  controller->add_subcommand("stop", "Stop the local controller")->callback([&] {
    rc = controller_stop(Home::from_env());
  });
  controller->add_subcommand("status", "Show whether the local controller runs, and where")
      ->callback([&] { rc = controller_status(Home::from_env()); });
  int tail = -1;
  auto* ctl_logs = controller->add_subcommand("logs", "Print the local controller's log");
  ctl_logs->add_option("--tail", tail, "Lines from the end to show (default all)");
  ctl_logs->callback([&] { rc = controller_logs(Home::from_env(), tail); });

  // db
  auto* db = app.add_subcommand("db", "Run PostgreSQL as the controller's store (or stop it)");
  db->require_subcommand(1);
  DbStartOptions db_start_options;
  int db_timeout_seconds = 300;
  auto* db_start_cmd = db->add_subcommand(
      "start", "Run PostgreSQL as a Service, wait until Ready, move the store onto it");
  db_start_cmd->add_option("--image", db_start_options.image,
                           "PostgreSQL image (default cenv/postgres:15)");
  db_start_cmd->add_option("--timeout", db_timeout_seconds,
                           "Seconds to wait for PostgreSQL to be Ready (default 300)");
  db_start_cmd->callback([&] {
    db_start_options.timeout = std::chrono::seconds(db_timeout_seconds);
    rc = db_start(Home::from_env(), db_start_options);
  });
  db->add_subcommand("stop", "Move the store back to SQLite and stop PostgreSQL (data kept)")
      ->callback([&] { rc = db_stop(Home::from_env()); });
  db->add_subcommand("rm", "Stop PostgreSQL and delete its data volume")->callback([&] {
    rc = db_rm(Home::from_env());
  });
  db->add_subcommand("status", "Show the store in use and the state of PostgreSQL")->callback([&] {
    rc = db_status(Home::from_env());
  });

  // apply
  ApplyFlags apply_flags;
  auto* apply = app.add_subcommand("apply", "Apply manifests: create or update their objects");
  apply->add_option("-f,--filename", apply_flags.files, "File, directory or - (stdin)")->required();
  apply->add_flag("-R,--recursive", apply_flags.recursive, "Read directories recursively");
  apply->add_option("--dry-run", apply_flags.dry_run,
                    "none; client: validate and default here, send nothing; server: the "
                    "controller computes the result and stores nothing");
  apply->add_option("--field-manager", apply_flags.field_manager, "Name of the applier");
  apply->add_option("-o,--output", apply_flags.output, "name, yaml or json");
  apply->add_flag("--force-conflicts", apply_flags.force_conflicts,
                  "Take over fields that other field managers own");
  apply->add_flag("--server-side", apply_flags.server_side,
                  "Accepted; apply is always server-side");
  apply->add_option("--applyset", apply_flags.applyset,
                    "Name of the apply set the objects belong to (labels them)");
  apply->add_flag("--prune", apply_flags.prune,
                  "Delete members of --applyset that these manifests no longer contain");
  apply->add_flag("--wait", apply_flags.wait,
                  "Wait until every applied object is Ready (a CommandRun: Complete or Failed)");
  apply->add_option("--timeout", apply_flags.timeout, "How long --wait waits (default 5m)");
  apply->callback([&] { rc = run_apply(global.ns, apply_flags); });

  // create
  ApplyFlags create_flags;
  create_flags.create = true;
  create_flags.field_manager = "cenv-create";
  auto* create = app.add_subcommand(
      "create", "Create the objects of manifests; fails when one exists (generateName allowed)");
  create->add_option("-f,--filename", create_flags.files, "File, directory or - (stdin)")
      ->required();
  create->add_flag("-R,--recursive", create_flags.recursive, "Read directories recursively");
  create->add_option("--dry-run", create_flags.dry_run,
                     "none; client: validate and default here, send nothing; server: the "
                     "controller checks and stores nothing");
  create->add_option("--field-manager", create_flags.field_manager, "Name of the creator");
  create->add_option("-o,--output", create_flags.output, "name, yaml or json");
  create->callback([&] { rc = run_apply(global.ns, create_flags); });

  // get
  GetFlags get_flags;
  auto* get = app.add_subcommand("get", "Display one or many objects");
  get->add_option("resources", get_flags.args, "KIND [NAME...] | KIND/NAME... | KIND,KIND");
  get->add_flag("-A,--all-namespaces", get_flags.all_namespaces, "List across all namespaces");
  get->add_option("-l,--selector", get_flags.selector, "Label selector, e.g. app=web,tier!=db");
  get->add_option("-o,--output", get_flags.output, "wide, yaml, json or name");
  get->add_flag("--no-headers", get_flags.no_headers, "Omit the table header");
  get->add_flag("-w,--watch", get_flags.watch, "After listing, watch for changes");
  get->add_flag("--show-managed-fields", get_flags.show_managed_fields,
                "Keep metadata.managedFields in yaml/json output");
  get->add_flag("--watch-only", get_flags.watch_only, "Watch for changes without listing first");
  get->callback([&] { rc = run_get(global, get_flags); });

  // delete
  DeleteFlags delete_flags;
  auto* del = app.add_subcommand("delete", "Delete objects by file or by kind and name");
  del->add_option("resources", delete_flags.args, "KIND NAME... | KIND/NAME...");
  del->add_option("-f,--filename", delete_flags.files, "File, directory or - (stdin)");
  del->add_flag("-R,--recursive", delete_flags.recursive, "Read directories recursively");
  del->add_flag("--ignore-not-found", delete_flags.ignore_not_found,
                "Treat a missing object as deleted");
  del->add_option("--cascade", delete_flags.cascade,
                  "background (default), foreground or orphan: what happens to dependents");
  del->add_flag("--wait,!--no-wait", delete_flags.wait,
                "Wait until objects held by finalizers are gone (default true)");
  del->add_option("--timeout", delete_flags.timeout, "How long --wait waits (default 60s)");
  del->add_flag("--purge", delete_flags.purge,
                "Also remove the named volumes of the Services deleted (kept by default)");
  del->callback([&] { rc = run_delete(global, delete_flags); });

  // diff
  DiffFlags diff_flags;
  auto* diff = app.add_subcommand("diff", "Show what apply would change (exit 1 when it would)");
  diff->add_option("-f,--filename", diff_flags.files, "File, directory or - (stdin)")->required();
  diff->add_flag("-R,--recursive", diff_flags.recursive, "Read directories recursively");
  diff->add_option("--field-manager", diff_flags.field_manager, "Name of the applier");
  diff->add_flag("--force-conflicts", diff_flags.force_conflicts, "As apply --force-conflicts");
  diff->callback([&] { rc = run_diff(global.ns, diff_flags); });

  // patch, edit
  PatchFlags patch_flags;
  auto* patch = app.add_subcommand("patch", "Change fields of a live object");
  patch->add_option("resources", patch_flags.args, "KIND NAME | KIND/NAME");
  patch->add_option("-p,--patch", patch_flags.patch, "The patch, JSON or YAML")->required();
  patch->add_option("--type", patch_flags.type, "merge (default) or json (RFC 6902)");
  patch->add_option("--field-manager", patch_flags.field_manager, "Who patches");
  patch->callback([&] { rc = run_patch(global.ns, patch_flags); });
  EditFlags edit_flags;
  auto* edit = app.add_subcommand("edit", "Edit a live object in $EDITOR");
  edit->add_option("resources", edit_flags.args, "KIND NAME | KIND/NAME");
  edit->add_option("-o,--output", edit_flags.output, "yaml (default) or json");
  edit->add_option("--field-manager", edit_flags.field_manager, "Who edits");
  edit->callback([&] { rc = run_edit(global.ns, edit_flags); });
  add_replace_command(app, global.ns, rc);

  // wait
  WaitFlags wait_flags;
  auto* wait = app.add_subcommand("wait", "Wait until objects meet a condition");
  wait->add_option("resources", wait_flags.args, "KIND NAME... | KIND/NAME...");
  wait->add_option("--for", wait_flags.for_condition,
                   "condition=NAME[=VALUE], delete, or jsonpath='{.path}'=VALUE");
  wait->add_option("--timeout", wait_flags.timeout, "How long to wait (default 30s)");
  wait->callback([&] { rc = run_wait(global.ns, wait_flags); });

  // logs, run
  LogsFlags logs_flags;
  auto* logs = app.add_subcommand("logs", "Print the output of a CommandRun or a Service");
  logs->add_option("resource", logs_flags.args, "cr/NAME | svc/NAME | NAME (a CommandRun)");
  logs->add_flag("-f,--follow", logs_flags.follow, "Stream new output until the run ends");
  logs->add_option("--since-bytes", logs_flags.since_bytes, "Start at this byte of the output");
  logs->add_flag("--timestamps", logs_flags.timestamps,
                 "Prefix lines with the time they were read");
  logs->callback([&] { rc = run_logs(global.ns, logs_flags); });
  RunFlags run_flags;
  auto* run_verb =
      app.add_subcommand("run", "Run a command in an environment, streaming its output");
  run_verb->add_option("--image", run_flags.image, "Image to run in (default: the runtime image)");
  run_verb->add_option("--service", run_flags.service, "Run inside this Service's container");
  run_verb->add_flag("--rm", run_flags.rm, "Delete the CommandRun when it has finished");
  run_verb->add_flag("-i,--stdin", run_flags.interactive, "Send this terminal's stdin to it");
  run_verb->add_option("--name", run_flags.name, "Name of the CommandRun (default run-XXXXX)");
  run_verb->add_option("--timeout", run_flags.timeout_seconds, "Seconds before it is killed");
  run_verb->add_option("-e,--env", run_flags.env, "NAME=VALUE environment variable (repeatable)");
  run_verb->add_option("-w,--workdir", run_flags.working_dir, "Absolute working directory");
  run_verb->add_option("command", run_flags.command, "-- CMD [ARGS...]");
  run_verb->callback([&] { rc = run_run(global.ns, run_flags); });

  // describe
  std::vector<std::string> describe_args;
  auto* describe = app.add_subcommand("describe", "Show an object in detail, with its events");
  describe->add_option("resources", describe_args, "KIND NAME... | KIND/NAME...");
  describe->callback([&] { rc = run_describe(global, describe_args); });

  // events
  EventsFlags events_flags;
  auto* events =
      app.add_subcommand("events", "List events, oldest first (what happened to objects)");
  events->add_flag("-A,--all-namespaces", events_flags.all_namespaces, "Events of every namespace");
  events->add_option("--for", events_flags.for_object, "Only events about KIND/NAME");
  events->add_flag("-w,--watch", events_flags.watch, "After listing, print events as they happen");
  events->add_flag("--no-headers", events_flags.no_headers, "Omit the table header");
  events->callback([&] { rc = run_events(global.ns, events_flags); });

  // explain
  std::string explain_path;
  bool explain_recursive = false;
  auto* explain_cmd = app.add_subcommand("explain", "Document a kind's fields (from crds/)");
  explain_cmd->add_option("field", explain_path, "KIND[.field.path], e.g. svc.spec.ports")
      ->required();
  explain_cmd->add_flag("--recursive", explain_recursive, "Print every nested field's name");
  explain_cmd->callback([&] {
    Status s = explain(registry(), explain_path, explain_recursive, std::cout);
    if (!s.ok()) print_error(s, false);
    rc = s.ok() ? 0 : 1;
  });

  // version, api-resources
  bool client_only = false;
  auto* version = app.add_subcommand("version", "Print the client and server versions");
  version->add_flag("--client", client_only, "Client version only");
  version->callback([&] { rc = run_version(client_only); });
  app.add_subcommand("api-resources", "List the kinds cenv serves")->callback([&] {
    rc = run_api_resources();
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }
  return rc;
}

}  // namespace cenv::cli
