#include "cli/run_cmd.h"

#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <regex>
#include <thread>

#include "api/conditions.h"
#include "api/display_text.h"
#include "api/grpc_status.h"
#include "api/json_fields.h"
#include "api/names.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "cli/common.h"
#include "cli/logs_cmd.h"
#include "cli/wait_cmd.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

Object run_object(const std::string& ns, const std::string& name, const RunFlags& flags,
                  const std::optional<ModuleCommandRef>& module) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = "CommandRun";
  if (name.empty()) {
    o.metadata()["generateName"] = "run-";
  } else {
    o.set_name(name);
  }
  o.set_ns(ns);
  o.metadata()["labels"] = json::object{{"cenv.io/created-by", "cenv-run"}};
  json::object& spec = o.spec();
  if (module) {
    spec["module"] = module->module;
    spec["moduleCommand"] = module->command;
    if (!module->args.empty()) {
      json::array args;
      for (const auto& a : module->args) args.emplace_back(a);
      spec["args"] = std::move(args);
    }
  } else {
    json::array cmd;
    for (const auto& a : flags.command) cmd.emplace_back(a);
    spec["command"] = std::move(cmd);
  }
  if (!flags.image.empty()) spec["image"] = flags.image;
  if (!flags.service.empty()) spec["service"] = flags.service;
  if (flags.interactive) spec["stdin"] = true;
  if (flags.timeout_seconds > 0) spec["timeoutSeconds"] = flags.timeout_seconds;
  if (!flags.working_dir.empty()) spec["workingDir"] = flags.working_dir;
  if (!flags.env.empty()) {
    json::array env;
    for (const auto& e : flags.env) {
      auto eq = e.find('=');
      json::object v{{"name", e.substr(0, eq)}};
      if (eq != std::string::npos) v["value"] = e.substr(eq + 1);
      env.emplace_back(std::move(v));
    }
    spec["env"] = std::move(env);
  }
  return o;
}

// "a, b, c" (or `none`).
std::string listed(const std::vector<std::string>& names, const std::string& none) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? none : out;
}

// Refuses, before anything is created, a module command that cannot run: a Module that does
// not exist (listing those that do) or, once the Module is Ready, a command it does not declare
// (listing those it does). A Module still being fetched is left to the controller.
Status check_module_command(ControllerClient& client, const std::string& ns,
                            const ModuleCommandRef& ref) {
  auto module = client.get("Module", ns, ref.module);
  if (!module.ok()) {
    if (module.status().code() != Code::kNotFound) return module.status();
    auto all = client.list("Module", ns, "");
    if (!all.ok()) return all.status();
    std::vector<std::string> names;
    for (const Object& m : all->first) names.emplace_back(m.name());
    return Status::NotFound(
        "module \"" + escape_for_display(ref.module) + "\" not found in environment \"" + ns +
        "\" (modules: " + listed(names, "none; add one with cenv module add") + ")");
  }
  auto ready = get_condition(module.value(), "Ready");
  bool current = int64_field(module->status_or_null(), "observedGeneration").value_or(-1) ==
                 module->generation();
  if (!ready || ready->status != kConditionTrue || !current) return Status::Ok();
  const json::object* commands = object_field(module->status_or_null(), "commands");
  if (commands && commands->contains(ref.command)) return Status::Ok();
  std::vector<std::string> names;
  if (commands) {
    for (const auto& kv : *commands) names.emplace_back(kv.key());
  }
  return Status::NotFound("module \"" + escape_for_display(ref.module) + "\" has no command \"" +
                          escape_for_display(ref.command) +
                          "\" (commands: " + listed(names, "none") + ")");
}

// Sends this process's stdin to the run until EOF (then closes the command's stdin).
void feed_stdin(ControllerClient& client, const std::string& ns, const std::string& name,
                StreamCanceller& canceller) {
  auto stub = v1::Cenv::NewStub(client.channel());
  grpc::ClientContext ctx;
  canceller.set_context(&ctx);
  v1::StdinResponse resp;
  auto writer = stub->Stdin(&ctx, &resp);
  v1::StdinChunk first;
  first.set_namespace_(ns);
  first.set_name(name);
  bool ok = writer->Write(first);
  char buf[64 << 10];
  while (ok && !canceller.cancelled()) {
    // Polled, so the command's end (cancel) stops the reading without closing our stdin.
    pollfd p{0, POLLIN, 0};
    int ready = poll(&p, 1, 100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    v1::StdinChunk chunk;
    if (n <= 0) {
      chunk.set_eof(true);
      writer->Write(chunk);
      break;
    }
    chunk.set_data(buf, static_cast<size_t>(n));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  canceller.set_context(nullptr);
  if (!s.ok() && !canceller.cancelled()) {
    print_error(from_grpc(s).with_prefix("stdin"));
  }
}

// --rm: as `kubectl run --rm`, the run is gone (its finalizer done) when this returns. Prints
// what went wrong, if anything.
void remove_run(ControllerClient& client, const std::string& ns, const std::string& name) {
  auto removed = client.remove("CommandRun", ns, name);
  if (!removed.ok()) {
    if (removed.status().code() != Code::kNotFound) print_error(removed.status());
    return;
  }
  auto gone = WaitCondition::parse("delete");
  auto waited = wait_for_object(client, "CommandRun", ns, name, {gone.value()},
                                std::chrono::system_clock::now() + std::chrono::seconds(60),
                                [](const std::string&) {});
  if (!waited.ok()) {
    print_error(waited.status());
  } else if (!waited->met) {
    std::cerr << "warning: commandrun/" << name << " is still being deleted\n";
  }
}

}  // namespace

Result<std::optional<ModuleCommandRef>> module_command_of(
    const std::vector<std::string>& positionals, size_t after_separator) {
  size_t before = positionals.size() - std::min(after_separator, positionals.size());
  if (before == 0 || positionals[0].find(':') == std::string::npos) {
    return std::optional<ModuleCommandRef>();
  }
  const std::string& first = positionals[0];
  size_t colon = first.find(':');
  ModuleCommandRef ref{first.substr(0, colon), first.substr(colon + 1), {}};
  static const std::regex kCommandName("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  if (!check_dns1123_label(ref.module).empty() || ref.command.size() > 63 ||
      !std::regex_match(ref.command, kCommandName)) {
    return Status::Invalid("\"" + escape_for_display(first) +
                           "\": a module command is MODULE:COMMAND (a Module's name, then one of "
                           "its commands); a plain command goes after --: cenv run -- CMD");
  }
  if (before > 1) {
    return Status::Invalid("the arguments of " + escape_for_display(first) +
                           " go after --: cenv run " + escape_for_display(first) + " -- ARGS...");
  }
  ref.args.assign(positionals.begin() + 1, positionals.end());
  return std::optional<ModuleCommandRef>(std::move(ref));
}

int run_run(const Context& context, const std::string& ns_flag, const RunFlags& flags) {
  if (flags.command.empty()) {
    print_error(Status::Invalid("cenv run needs a command: cenv run [flags] -- CMD [ARGS...] "
                                "or cenv run [flags] MODULE:COMMAND [-- ARGS...]"),
                false);
    return 1;
  }
  auto module = module_command_of(flags.command, flags.after_separator);
  if (!module.ok()) {
    print_error(module.status(), false);
    return 1;
  }
  if (!flags.image.empty() && !flags.service.empty()) {
    print_error(Status::Invalid("--image and --service exclude each other"), false);
    return 1;
  }
  const std::string ns = ns_flag.empty() ? "default" : ns_flag;

  // Ctrl-C and SIGTERM are taken by a thread of ours (blocked everywhere else, gRPC's threads
  // included, which inherit this mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto client = context.connect();
  if (module.value()) {
    if (Status s = check_module_command(*client, ns, *module.value()); !s.ok()) {
      print_error(s, /*from_server=*/s.code() != Code::kNotFound);
      return 1;
    }
  }
  // Created, never applied over: an existing --name is an error, and without --name the
  // server names the run from generateName "run-".
  v1::ApplyRequest req;
  auto* item = req.add_objects();
  item->set_json(run_object(ns, flags.name, flags, module.value()).to_json());
  item->set_source("cenv run");
  req.set_field_manager("cenv-run");
  req.set_create_only(true);
  auto applied = client->apply(req);
  if (!applied.ok()) {
    print_error(applied.status());
    return 1;
  }
  if (applied->results_size() != 1) {
    print_error(Status::Internal("the controller answered the create with " +
                                 std::to_string(applied->results_size()) + " objects"),
                false);
    return 1;
  }
  const std::string name = applied->results(0).name();

  StreamCanceller logs_cancel, stdin_cancel;
  std::atomic<bool> interrupted{false};
  std::atomic<bool> finished{false};
  std::jthread signals([&](std::stop_token stop) {
    timespec poll{0, 100 * 1000 * 1000};
    while (!stop.stop_requested()) {
      int sig = sigtimedwait(&stop_signals, nullptr, &poll);
      if (sig <= 0) continue;
      if (finished) return;
      interrupted = true;
      fprintf(stderr, "cenv: cancelling CommandRun %s\n", name.c_str());
      auto other = context.connect({.autostart = false});
      auto removed = other->remove("CommandRun", ns, name);
      if (!removed.ok() && removed.status().code() != Code::kNotFound) {
        print_error(removed.status());
      }
      logs_cancel.cancel();
      stdin_cancel.cancel();
      return;
    }
  });
  std::thread input;
  std::unique_ptr<ControllerClient> stdin_client;
  if (flags.interactive) {
    stdin_client = context.connect();
    input = std::thread([&] { feed_stdin(*stdin_client, ns, name, stdin_cancel); });
  }

  LogsTarget target{"CommandRun", ns, name, /*follow=*/true, 0, false};
  auto end = stream_logs(*client, target, stdout, stderr, &logs_cancel);
  finished = true;
  signals.request_stop();
  // Wakes it now instead of at its next poll: every run waited up to 100 ms (50 on average) at
  // exit for it. The signal is blocked in every thread; this one takes it, sees `finished` and
  // returns; were it not waiting, the signal stays pending for its next wait.
  pthread_kill(signals.native_handle(), SIGTERM);
  if (input.joinable()) {
    stdin_cancel.cancel();  // the command ended: stop reading our stdin
    input.join();
  }
  if (interrupted) return 130;
  if (!end.ok()) {
    print_error(end.status());
    return 1;
  }
  int code = end->exit_code;
  if (end->phase != "Succeeded") {
    // Say why, unless the command's own exit code says it all.
    auto run = client->get("CommandRun", ns, name);
    if (run.ok()) {
      auto failed = get_condition(*run, "Failed");
      if (failed && failed->reason != "NonZeroExit") {
        std::cerr << "error: CommandRun " << name << " " << end->phase << " (" << failed->reason
                  << "): " << failed->message << "\n";
      }
    }
    if (end->phase == "Cancelled") code = 130;
    if (code <= 0) code = 1;
  }
  if (flags.rm) remove_run(*client, ns, name);
  return code;
}

}  // namespace cenv::cli
