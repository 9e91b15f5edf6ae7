#include "cli/cli.h"

#include <grpc/support/log.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/apply_cmd.h"
#include "cli/certs_cmd.h"
#include "cli/common.h"
#include "cli/context.h"
#include "cli/context_cmd.h"
#include "cli/controller_cmd.h"
#include "cli/controller_container.h"
#include "cli/convert_cmd.h"
#include "cli/dashboard_cmd.h"
#include "cli/db_cmd.h"
#include "cli/delete_cmd.h"
#include "cli/describe_cmd.h"
#include "cli/diff_cmd.h"
#include "cli/env_cmd.h"
#include "cli/events_cmd.h"
#include "cli/explain_cmd.h"
#include "cli/get_cmd.h"
#include "cli/logs_cmd.h"
#include "cli/module_cmd.h"
#include "cli/replace_cmd.h"
#include "cli/run_cmd.h"
#include "cli/source_cmds.h"
#include "cli/update_cmds.h"
#include "cli/version_cmd.h"
#include "cli/wait_cmd.h"

namespace cenv::cli {

namespace {

// What the command line fills in: the flags of every verb (CLI11 writes them while parsing;
// the chosen verb's callback reads them) and the exit code the callback sets.
struct Verbs {
  explicit Verbs(Context c) : context(std::move(c)) {}

  Context context;           // where every verb's client talks (resolved once, in run())
  std::string context_flag;  // --context, shared by all verbs
  std::string ns;            // -n, shared by all verbs
  int rc = 0;

  ControllerRunOptions controller_run;
  int controller_log_tail = -1;
  bool controller_container = false;
  std::string controller_image;
  DbStartOptions db_start;
  int db_timeout_seconds = 300;
  ApplyFlags apply;
  ApplyFlags create;
  DiffFlags diff;
  GetFlags get;
  DeleteFlags del;
  PatchFlags patch;
  ReplaceFlags replace;
  EditFlags edit;
  WaitFlags wait;
  LogsFlags logs;
  RunFlags run;
  std::string run_unused_positional;  // see add_run
  ModuleAddFlags module_add;
  std::string module_output;  // module list / show -o
  bool module_no_headers = false;
  std::string module_name;  // module show NAME
  EnvBuildFlags env_build;
  std::string env_name;  // env image NAME
  SyncFlags sync;
  std::vector<std::string> suspend_args;  // suspend / resume env/NAME
  std::vector<std::string> describe_args;
  EventsFlags events;
  DashboardFlags dashboard;
  std::string explain_path;
  bool explain_recursive = false;
  bool version_client_only = false;
  CertsFlags certs;
  ContextFlags contexts;
  ConvertFlags convert;
};

// Verbs that talk to no controller of a context (`controller` and `db` manage the local one):
// they work whatever the contexts say.
bool needs_context(const CLI::App& app) {
  for (const CLI::App* verb : app.get_subcommands()) {
    const std::string& name = verb->get_name();
    if (name == "context" || name == "certs" || name == "controller" || name == "db" ||
        name == "explain" || name == "api-resources" || name == "convert") {
      return false;
    }
  }
  return true;
}

void add_listen_flags(CLI::App& verb, ControllerRunOptions& options) {
  verb.add_option("--listen", options.listen,
                  "HOST:PORT to serve the API on with mutual TLS too (port 0: any free)");
  verb.add_option("--certs", options.certs,
                  "Certificates directory for --listen: ca.crt, server.crt, server.key");
}

void add_controller(CLI::App& app, Verbs& v) {
  auto* controller = app.add_subcommand("controller", "Run or manage the local controller");
  controller->require_subcommand(1);
  auto* run = controller->add_subcommand("run", "Run the controller in the foreground");
  run->add_option(
      "--store", v.controller_run.store,
      "Store: sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB (default $CENV_HOME/cenv.db)");
  run->add_option("--socket", v.controller_run.socket,
                  "Unix socket to serve on (default $CENV_HOME/run/controller.sock)");
  run->add_option("--http-address", v.controller_run.http_address,
                  "HOST:PORT for /healthz, /readyz and /metrics (default 127.0.0.1:0)");
  run->add_option("--log-level", v.controller_run.log_level,
                  "trace, debug, info, warn or error (default info)");
  add_listen_flags(*run, v.controller_run);
  run->add_option("--lease-duration", v.controller_run.lease_duration,
                  "With a PostgreSQL store shared by several controllers: how long the leader's "
                  "lease lasts after a renewal (default 15s)");
  run->add_option("--renew-deadline", v.controller_run.renew_deadline,
                  "How long the leader keeps trying to renew before it steps down (default 10s)");
  run->add_option("--retry-period", v.controller_run.retry_period,
                  "How often a controller tries to take or renew the lease (default 2s)");
  run->callback([&v] { v.rc = controller_run(v.context.home(), v.controller_run); });
  auto* start = controller->add_subcommand("start", "Start the local controller in the background");
  add_listen_flags(*start, v.controller_run);
  start->add_flag("--container", v.controller_container,
                  "Run it in the shared image on the Docker engine (DOCKER_HOST), serving "
                  "--listen with --certs");
  start->add_option("--image", v.controller_image, "Image for --container")
      ->default_str(default_controller_image());
  start->callback([&v] {
    v.rc = v.controller_container
               ? controller_start_container(v.controller_run, v.controller_image.empty()
                                                                  ? default_controller_image()
                                                                  : v.controller_image)
               : controller_start(v.context.home(), v.controller_run);
  });
  auto* stop = controller->add_subcommand("stop", "Stop the local controller");
  stop->add_flag("--container", v.controller_container,
                 "Remove the controller container of --container instead (its data stays)");
  stop->callback([&v] {
    v.rc = v.controller_container ? controller_stop_container() : controller_stop(v.context.home());
  });
  controller->add_subcommand("status", "Show whether the local controller runs, and where")
      ->callback([&v] { v.rc = controller_status(v.context); });
  auto* logs = controller->add_subcommand("logs", "Print the local controller's log");
  logs->add_option("--tail", v.controller_log_tail, "Lines from the end to show (default all)");
  logs->callback([&v] { v.rc = controller_logs(v.context.home(), v.controller_log_tail); });
}

void add_db(CLI::App& app, Verbs& v) {
  auto* db = app.add_subcommand("db", "Run PostgreSQL as the controller's store (or stop it)");
  db->require_subcommand(1);
  auto* start = db->add_subcommand(
      "start", "Run PostgreSQL as a Service, wait until Ready, move the store onto it");
  start->add_option("--image", v.db_start.image, "PostgreSQL image (default cenv/postgres:15)");
  start->add_option("--timeout", v.db_timeout_seconds,
                    "Seconds to wait for PostgreSQL to be Ready (default 300)");
  start->callback([&v] {
    v.db_start.timeout = std::chrono::seconds(v.db_timeout_seconds);
    v.rc = db_start(v.context, v.db_start);
  });
  db->add_subcommand("stop", "Move the store back to SQLite and stop PostgreSQL (data kept)")
      ->callback([&v] { v.rc = db_stop(v.context); });
  db->add_subcommand("rm", "Stop PostgreSQL and delete its data volume")->callback([&v] {
    v.rc = db_rm(v.context);
  });
  db->add_subcommand("status", "Show the store in use and the state of PostgreSQL")->callback([&v] {
    v.rc = db_status(v.context);
  });
}

void add_apply(CLI::App& app, Verbs& v) {
  auto* apply = app.add_subcommand("apply", "Apply manifests: create or update their objects");
  apply->add_option("-f,--filename", v.apply.files, "File, directory or - (stdin)")->required();
  apply->add_flag("-R,--recursive", v.apply.recursive, "Read directories recursively");
  apply->add_option("--dry-run", v.apply.dry_run,
                    "none; client: validate and default here, send nothing; server: the "
                    "controller computes the result and stores nothing");
  apply->add_option("--field-manager", v.apply.field_manager, "Name of the applier");
  apply->add_option("-o,--output", v.apply.output, "name, yaml or json");
  apply->add_flag("--force-conflicts", v.apply.force_conflicts,
                  "Take over fields that other field managers own");
  apply->add_flag("--server-side", v.apply.server_side, "Accepted; apply is always server-side");
  apply->add_option("--applyset", v.apply.applyset,
                    "Name of the apply set the objects belong to (labels them)");
  apply->add_flag("--prune", v.apply.prune,
                  "Delete members of --applyset that these manifests no longer contain");
  apply->add_flag("--wait", v.apply.wait,
                  "Wait until every applied object is Ready (a CommandRun: Complete or Failed)");
  apply->add_option("--timeout", v.apply.timeout, "How long --wait waits (default 5m)");
  apply->callback([&v] { v.rc = run_apply(v.context, v.ns, v.apply); });
}

void add_create(CLI::App& app, Verbs& v) {
  v.create.create = true;
  v.create.field_manager = "cenv-create";
  auto* create = app.add_subcommand(
      "create", "Create the objects of manifests; fails when one exists (generateName allowed)");
  create->add_option("-f,--filename", v.create.files, "File, directory or - (stdin)")->required();
  create->add_flag("-R,--recursive", v.create.recursive, "Read directories recursively");
  create->add_option("--dry-run", v.create.dry_run,
                     "none; client: validate and default here, send nothing; server: the "
                     "controller checks and stores nothing");
  create->add_option("--field-manager", v.create.field_manager, "Name of the creator");
  create->add_option("-o,--output", v.create.output, "name, yaml or json");
  create->callback([&v] { v.rc = run_apply(v.context, v.ns, v.create); });
}

void add_get(CLI::App& app, Verbs& v) {
  auto* get = app.add_subcommand("get", "Display one or many objects");
  get->add_option("resources", v.get.args, "KIND [NAME...] | KIND/NAME... | KIND,KIND");
  get->add_flag("-A,--all-namespaces", v.get.all_namespaces, "List across all namespaces");
  get->add_option("-l,--selector", v.get.selector, "Label selector, e.g. app=web,tier!=db");
  get->add_option("-o,--output", v.get.output, "wide, yaml, json or name");
  get->add_flag("--no-headers", v.get.no_headers, "Omit the table header");
  get->add_flag("-w,--watch", v.get.watch, "After listing, watch for changes");
  get->add_flag("--show-managed-fields", v.get.show_managed_fields,
                "Keep metadata.managedFields in yaml/json output");
  get->add_flag("--watch-only", v.get.watch_only, "Watch for changes without listing first");
  get->callback([&v] { v.rc = run_get(v.context, v.ns, v.get); });
}

void add_delete(CLI::App& app, Verbs& v) {
  auto* del = app.add_subcommand("delete", "Delete objects by file or by kind and name");
  del->add_option("resources", v.del.args, "KIND NAME... | KIND/NAME...");
  del->add_option("-f,--filename", v.del.files, "File, directory or - (stdin)");
  del->add_flag("-R,--recursive", v.del.recursive, "Read directories recursively");
  del->add_flag("--ignore-not-found", v.del.ignore_not_found, "Treat a missing object as deleted");
  del->add_option("--cascade", v.del.cascade,
                  "background (default), foreground or orphan: what happens to dependents");
  del->add_flag("--wait,!--no-wait", v.del.wait,
                "Wait until objects held by finalizers are gone (default true)");
  del->add_option("--timeout", v.del.timeout, "How long --wait waits (default 60s)");
  del->add_flag("--purge", v.del.purge,
                "Also remove the named volumes of the Services deleted (kept by default)");
  del->callback([&v] { v.rc = run_delete(v.context, v.ns, v.del); });
}

void add_diff(CLI::App& app, Verbs& v) {
  auto* diff = app.add_subcommand("diff", "Show what apply would change (exit 1 when it would)");
  diff->add_option("-f,--filename", v.diff.files, "File, directory or - (stdin)")->required();
  diff->add_flag("-R,--recursive", v.diff.recursive, "Read directories recursively");
  diff->add_option("--field-manager", v.diff.field_manager, "Name of the applier");
  diff->add_flag("--force-conflicts", v.diff.force_conflicts, "As apply --force-conflicts");
  diff->callback([&v] { v.rc = run_diff(v.context, v.ns, v.diff); });
}

void add_patch(CLI::App& app, Verbs& v) {
  auto* patch = app.add_subcommand("patch", "Change fields of a live object");
  patch->add_option("resources", v.patch.args, "KIND NAME | KIND/NAME");
  patch->add_option("-p,--patch", v.patch.patch, "The patch, JSON or YAML")->required();
  patch->add_option("--type", v.patch.type, "merge (default) or json (RFC 6902)");
  patch->add_option("--field-manager", v.patch.field_manager, "Who patches");
  patch->callback([&v] { v.rc = run_patch(v.context, v.ns, v.patch); });
}

void add_replace(CLI::App& app, Verbs& v) {
  auto* replace =
      app.add_subcommand("replace", "Replace existing objects with the manifests' versions");
  replace->add_option("-f,--filename", v.replace.files, "File, directory or - (stdin)")->required();
  replace->add_flag("-R,--recursive", v.replace.recursive, "Read directories recursively");
  replace->add_option("--field-manager", v.replace.field_manager, "Who replaces");
  replace->callback([&v] { v.rc = run_replace(v.context, v.ns, v.replace); });
}

void add_edit(CLI::App& app, Verbs& v) {
  auto* edit = app.add_subcommand("edit", "Edit a live object in $EDITOR");
  edit->add_option("resources", v.edit.args, "KIND NAME | KIND/NAME");
  edit->add_option("-o,--output", v.edit.output, "yaml (default) or json");
  edit->add_option("--field-manager", v.edit.field_manager, "Who edits");
  edit->callback([&v] { v.rc = run_edit(v.context, v.ns, v.edit); });
}

void add_wait(CLI::App& app, Verbs& v) {
  auto* wait = app.add_subcommand("wait", "Wait until objects meet a condition");
  wait->add_option("resources", v.wait.args, "KIND NAME... | KIND/NAME...");
  wait->add_option("--for", v.wait.for_condition,
                   "condition=NAME[=VALUE], delete, or jsonpath='{.path}'=VALUE");
  wait->add_option("--timeout", v.wait.timeout, "How long to wait (default 30s)");
  wait->callback([&v] { v.rc = run_wait(v.context, v.ns, v.wait); });
}

void add_logs(CLI::App& app, Verbs& v) {
  auto* logs = app.add_subcommand("logs", "Print the output of a CommandRun or a Service");
  logs->add_option("resource", v.logs.args, "cr/NAME | svc/NAME | NAME (a CommandRun)");
  logs->add_flag("-f,--follow", v.logs.follow, "Stream new output until the run ends");
  logs->add_option("--since-bytes", v.logs.since_bytes, "Start at this byte of the output");
  logs->add_flag("--timestamps", v.logs.timestamps, "Prefix lines with the time they were read");
  logs->callback([&v] { v.rc = run_logs(v.context, v.ns, v.logs); });
}

void add_run(CLI::App& app, Verbs& v) {
  auto* run = app.add_subcommand("run", "Run a command in an environment, streaming its output");
  run->add_option("--image", v.run.image, "Image to run in (default: the runtime image)");
  run->add_option("--service", v.run.service, "Run inside this Service's container");
  run->add_flag("--rm", v.run.rm, "Delete the CommandRun when it has finished");
  run->add_flag("-i,--stdin", v.run.interactive, "Send this terminal's stdin to it");
  run->add_option("--name", v.run.name, "Name of the CommandRun (default run-XXXXX)");
  run->add_option("--timeout", v.run.timeout_seconds, "Seconds before it is killed");
  run->add_option("-e,--env", v.run.env, "NAME=VALUE environment variable (repeatable)");
  run->add_option("-w,--workdir", v.run.working_dir, "Absolute working directory");
  run->add_option("command", v.run.command, "-- CMD [ARGS...] | MODULE:COMMAND [-- ARGS...]");
  // CLI11 hands what follows `--` back to the parent app once every positional has a value, so
  // `run MODULE:COMMAND -- ARGS` would lose ARGS: this hidden positional, never filled (the one
  // above takes every value), keeps a positional "remaining" and the words after `--` here.
  run->add_option("args-after-separator", v.run_unused_positional)->group("");
  run->callback([&v] { v.rc = run_run(v.context, v.ns, v.run); });
}

void add_module(CLI::App& app, Verbs& v) {
  auto* module =
      app.add_subcommand("module", "Install modules into an Environment and inspect them");
  module->require_subcommand(1);
  auto* add = module->add_subcommand(
      "add", "Install a module: write a Module object from a folder or a Git repository");
  add->add_option("source", v.module_add.source,
                  "Folder holding cenv-module.yaml, or Git URL[#REF] (https://, file://, ...)")
      ->required();
  add->add_option(
      "--name", v.module_add.name,
      "Name of the Module (default: the manifest's name; for Git, the URL's last part)");
  add->add_option("--ref", v.module_add.ref, "Git: branch, tag or commit (default main)");
  add->add_option("--subdir", v.module_add.subdir, "Git: folder of the module in the repository");
  add->add_option("--set", v.module_add.set,
                  "KEY=VALUE option of the module (repeatable; true/false and integers typed)");
  add->add_flag("--force-conflicts", v.module_add.force_conflicts,
                "Take over fields that other field managers own");
  add->callback([&v] { v.rc = run_module_add(v.context, v.ns, v.module_add); });
  auto* list = module->add_subcommand("list", "List the modules of an Environment");
  list->alias("ls");
  list->add_option("-o,--output", v.module_output, "yaml, json or name");
  list->add_flag("--no-headers", v.module_no_headers, "Omit the table header");
  list->callback(
      [&v] { v.rc = run_module_list(v.context, v.ns, v.module_output, v.module_no_headers); });
  auto* show = module->add_subcommand(
      "show", "Show a module: source, revision, requirements, commands, services, conditions");
  show->add_option("name", v.module_name, "Module name")->required();
  show->add_option("-o,--output", v.module_output, "yaml, json or name");
  show->callback([&v] { v.rc = run_module_show(v.context, v.ns, v.module_name, v.module_output); });
  module->add_subcommand("tree", "Print the Environment's resolved module graph")->callback([&v] {
    v.rc = run_module_tree(v.context, v.ns);
  });
}

void add_env(CLI::App& app, Verbs& v) {
  auto* env = app.add_subcommand("env", "Build an Environment's runtime image, or print it");
  env->require_subcommand(1);
  auto* build = env->add_subcommand("build", "Ask the controller to rebuild the runtime image now");
  build->add_option("name", v.env_build.name, "Environment (default: -n)");
  build->add_flag("--wait", v.env_build.wait,
                  "Wait for the build, showing its current step on stderr");
  build->add_option("--timeout", v.env_build.timeout, "How long --wait waits (default 10m)");
  build->callback([&v] { v.rc = run_env_build(v.context, v.ns, v.env_build); });
  auto* image = env->add_subcommand("image", "Print the Environment's runtime image");
  image->add_option("name", v.env_name, "Environment (default: -n, else default)");
  image->callback([&v] { v.rc = run_env_image(v.context, v.ns, v.env_name); });
}

void add_source_verbs(CLI::App& app, Verbs& v) {
  auto* sync = app.add_subcommand(
      "sync", "Ask the controller to sync an Environment's Git source now (spec.source)");
  sync->add_option("resources", v.sync.args, "env/NAME | environment NAME");
  sync->add_flag("--wait", v.sync.wait,
                 "Wait until the sync is applied and Ready; print the revision applied");
  sync->add_option("--timeout", v.sync.timeout, "How long --wait waits (default 5m)");
  sync->callback([&v] { v.rc = run_sync(v.context, v.sync); });
  auto* suspend = app.add_subcommand(
      "suspend", "Stop syncing an Environment's Git source (spec.source.suspend: true)");
  suspend->add_option("resources", v.suspend_args, "env/NAME | environment NAME");
  suspend->callback([&v] { v.rc = run_suspend(v.context, v.suspend_args, true); });
  auto* resume = app.add_subcommand(
      "resume", "Sync an Environment's Git source again (spec.source.suspend: false)");
  resume->add_option("resources", v.suspend_args, "env/NAME | environment NAME");
  resume->callback([&v] { v.rc = run_suspend(v.context, v.suspend_args, false); });
}

void add_describe(CLI::App& app, Verbs& v) {
  auto* describe = app.add_subcommand("describe", "Show an object in detail, with its events");
  describe->add_option("resources", v.describe_args, "KIND NAME... | KIND/NAME...");
  describe->callback([&v] { v.rc = run_describe(v.context, v.ns, v.describe_args); });
}

void add_events(CLI::App& app, Verbs& v) {
  auto* events =
      app.add_subcommand("events", "List events, oldest first (what happened to objects)");
  events->add_flag("-A,--all-namespaces", v.events.all_namespaces, "Events of every namespace");
  events->add_option("--for", v.events.for_object, "Only events about KIND/NAME");
  events->add_flag("-w,--watch", v.events.watch, "After listing, print events as they happen");
  events->add_flag("--no-headers", v.events.no_headers, "Omit the table header");
  events->callback([&v] { v.rc = run_events(v.context, v.ns, v.events); });
}

void add_dashboard(CLI::App& app, Verbs& v) {
  auto* dashboard = app.add_subcommand(
      "dashboard", "Print the web dashboard's URL (and open it in a browser when there is one)");
  dashboard->add_flag("--no-open", v.dashboard.no_open, "Print the URL only");
  dashboard->callback([&v] { v.rc = run_dashboard(v.context, v.ns, v.dashboard); });
}

void add_explain(CLI::App& app, Verbs& v) {
  auto* explain = app.add_subcommand("explain", "Document a kind's fields (from crds/)");
  explain->add_option("field", v.explain_path, "KIND[.field.path], e.g. svc.spec.ports")
      ->required();
  explain->add_flag("--recursive", v.explain_recursive, "Print every nested field's name");
  explain->callback([&v] {
    Status s = cenv::cli::explain(registry(), v.explain_path, v.explain_recursive, std::cout);
    if (!s.ok()) print_error(s, false);
    v.rc = s.ok() ? 0 : 1;
  });
}

void add_version_and_api_resources(CLI::App& app, Verbs& v) {
  auto* version = app.add_subcommand("version", "Print the client and server versions");
  version->add_flag("--client", v.version_client_only, "Client version only");
  version->callback([&v] { v.rc = run_version(v.context, v.version_client_only); });
  app.add_subcommand("api-resources", "List the kinds cenv serves")->callback([&v] {
    v.rc = run_api_resources();
  });
}

}  // namespace

int run(int argc, char** argv, mode_t user_umask) {
  CLI::App app{"cenv: a Kubernetes-style declarative controller for containerized environments"};
  app.name("cenv");
  app.require_subcommand(1);
  app.fallthrough();
  Verbs verbs(Context::local_from_env());
  app.add_option("-n,--namespace", verbs.ns, "Namespace (Environment) to act in");
  app.add_option("--context", verbs.context_flag,
                 "Context to talk to (default $CENV_CONTEXT, else config.yaml's current)");
  // The one place the CLI decides where it talks: every verb's clients come from this. It runs
  // once the whole line is parsed (--context may follow the verb), before the verb's callback.
  app.parse_complete_callback([&app, &verbs] {
    if (!needs_context(app)) return;
    // A client says what went wrong in its own words; gRPC's log lines would only repeat it.
    gpr_set_log_function([](gpr_log_func_args*) {});
    auto context = Context::resolve(Home::from_env(), verbs.context_flag);
    if (!context.ok()) {
      print_error(context.status(), /*from_server=*/false);
      throw CLI::RuntimeError(1);  // a ParseError: app.exit() prints nothing for it
    }
    verbs.context = std::move(context.value());
  });
  verbs.edit.editor_umask = user_umask;
  verbs.diff.program_umask = user_umask;
  // `cenv run` tells MODULE:COMMAND (before `--`) from a plain command by what follows `--`.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      verbs.run.after_separator = static_cast<size_t>(argc - i - 1);
      break;
    }
  }
  add_controller(app, verbs);
  add_db(app, verbs);
  add_apply(app, verbs);
  add_create(app, verbs);
  add_get(app, verbs);
  add_delete(app, verbs);
  add_diff(app, verbs);
  add_patch(app, verbs);
  add_replace(app, verbs);
  add_edit(app, verbs);
  add_wait(app, verbs);
  add_logs(app, verbs);
  add_run(app, verbs);
  add_module(app, verbs);
  add_env(app, verbs);
  add_source_verbs(app, verbs);
  add_describe(app, verbs);
  add_events(app, verbs);
  add_dashboard(app, verbs);
  add_explain(app, verbs);
  add_version_and_api_resources(app, verbs);
  add_certs(app, verbs.certs, verbs.rc);
  add_convert(app, verbs.convert, verbs.rc);
  add_context_verbs(app, verbs.contexts, verbs.context_flag, verbs.rc);
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
  return verbs.rc;
}

}  // namespace cenv::cli
