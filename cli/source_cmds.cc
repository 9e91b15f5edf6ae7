#include "cli/source_cmds.h"

#include <iostream>

#include "api/conditions.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/json_patch.h"
#include "api/sync_request.h"
#include "cli/common.h"
#include "cli/env_cmd.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

// Who records a sync request (as `cenv env build` records a build request under its own name).
constexpr const char* kSyncFieldManager = "cenv-sync";
// Who suspends and resumes: the CLI's own field manager, as `cenv apply` is.
constexpr const char* kSuspendFieldManager = "cenv";

const json::object* source_status(const Object& env) {
  return object_field(env.status_or_null(), "source");
}

bool suspended(const Object& env) {
  const json::object* source = object_field(env.spec_or_null(), "source");
  const json::value* v = source ? source->if_contains("suspend") : nullptr;
  return v && v->is_bool() && v->get_bool();
}

Status no_source(const std::string& name) {
  return Status::FailedPrecondition("environment/" + name +
                                    " has no spec.source: it does not follow a Git repository");
}

// "Synced=Unknown (Progressing): waiting for service/web".
std::string synced_text(const Object& env) {
  auto c = get_condition(env, "Synced");
  if (!c) return "no Synced condition yet";
  std::string text = "Synced=" + c->status;
  if (!c->reason.empty()) text += " (" + c->reason + ")";
  if (!c->message.empty()) text += ": " + c->message;
  return text;
}

// --wait: follows the Environment until the sync's outcome.
int wait_for_sync(ControllerClient& client, const std::string& name, SyncWatch& sync,
                  std::chrono::system_clock::time_point deadline, const std::string& timeout) {
  SyncWatch::State state = SyncWatch::State::kWaiting;
  bool deleted = false;
  Status s = client.watch(
      "Environment", "", "", "",
      [&](const std::string& type, const Object& env) {
        if (env.name() != name || type == "BOOKMARK") return true;
        if (type == "DELETED") {
          deleted = true;
          state = SyncWatch::State::kFailed;
          return false;
        }
        state = sync.observe(env);
        return state == SyncWatch::State::kWaiting;
      },
      deadline);
  const std::string shown = "environment/" + escape_for_display(name);
  if (state == SyncWatch::State::kDone) {
    std::cout << shown << " synced: revision " << escape_for_display(sync.detail()) << "\n";
    return 0;
  }
  if (state == SyncWatch::State::kFailed) {
    std::cerr << "error: the sync of " << shown << " failed: "
              << (deleted ? "the Environment was deleted" : escape_for_display(sync.detail()))
              << "\n";
    return 1;
  }
  if (!s.ok() && std::chrono::system_clock::now() < deadline) {
    print_error(s);
    return 1;
  }
  std::cerr << "error: timed out after " << timeout << " waiting for the sync of " << shown << " ("
            << escape_for_display(sync.detail()) << ")\n";
  return 1;
}

}  // namespace

Result<std::string> environment_arg(const std::vector<std::string>& args, const std::string& verb) {
  const std::string usage = "cenv " + verb + " env/NAME";
  if (args.empty()) return Status::Invalid(usage + ": which Environment?");
  auto refs = resolve_refs(args);
  if (!refs.ok()) return refs.status();
  if (refs->size() != 1) return Status::Invalid(usage + ": exactly one Environment, please");
  const ObjectRef& ref = refs->front();
  if (ref.kind->kind != "Environment") {
    return Status::Invalid(usage + ": takes an Environment, not a " + ref.kind->kind);
  }
  return ref.name;
}

Result<Object> with_suspend(Object env, bool suspend) {
  if (!has_git_source(env)) return no_source(std::string(env.name()));
  json::value doc = env.json();
  apply_merge_patch(doc, json::object{{"spec", json::object{{"source", json::object{
                                                                           {"suspend", suspend},
                                                                       }}}}});
  return Object(doc.get_object());
}

SyncWatch::State SyncWatch::observe(const Object& env) {
  if (!has_git_source(env)) {
    detail_ = "spec.source was removed: the Environment no longer follows a Git repository";
    return State::kFailed;
  }
  if (suspended(env)) {
    detail_ = "spec.source.suspend is true: it syncs once resumed (cenv resume env/" +
              std::string(env.name()) + ")";
    return State::kFailed;
  }
  const std::string handled(string_field(source_status(env), "lastHandledSyncRequest"));
  // Requests of one form (RFC 3339 with milliseconds) order as text: a later request handled
  // handles this one too.
  const bool handled_ours =
      handled == request_ || (handled.size() == request_.size() && handled > request_);
  if (!handled_ours) {
    detail_ = "the request is not handled yet; " + synced_text(env);
    return State::kWaiting;
  }
  auto c = get_condition(env, "Synced");
  if (c && c->status == kConditionTrue) {
    detail_ = std::string(string_field(source_status(env), "lastAppliedRevision"));
    if (detail_.empty()) detail_ = std::string(string_field(source_status(env), "revision"));
    return State::kDone;
  }
  if (c && c->status == kConditionFalse) {
    detail_ = c->reason + (c->message.empty() ? "" : ": " + c->message);
    return State::kFailed;
  }
  detail_ = synced_text(env);
  return State::kWaiting;
}

int run_sync(const Context& context, const SyncFlags& flags) {
  auto name = environment_arg(flags.args, "sync");
  if (!name.ok()) {
    print_error(name.status(), false);
    return 1;
  }
  auto timeout = parse_duration(flags.timeout);
  if (!timeout.ok()) {
    print_error(timeout.status().with_prefix("--timeout"), false);
    return 1;
  }
  auto client = context.connect();
  std::string request;
  bool was_suspended = false;
  auto stored = change_environment(
      *client, name.value(),
      [&](Object& env) {
        if (!has_git_source(env)) return no_source(name.value());
        was_suspended = suspended(env);
        request = record_sync_request(env, std::chrono::system_clock::now());
        return Status::Ok();
      },
      kSyncFieldManager);
  if (!stored.ok()) {
    print_error(stored.status(), stored.status().code() != Code::kFailedPrecondition);
    return 1;
  }
  const std::string shown = "environment/" + escape_for_display(name.value());
  std::cout << shown << " sync requested\n";
  std::cout.flush();
  if (was_suspended) {
    std::cerr << "warning: " << shown
              << " is suspended (spec.source.suspend: true): it syncs once resumed\n";
  }
  if (!flags.wait) return 0;
  SyncWatch sync(request);
  return wait_for_sync(*client, name.value(), sync,
                       std::chrono::system_clock::now() + timeout.value(), flags.timeout);
}

int run_suspend(const Context& context, const std::vector<std::string>& args, bool suspend) {
  auto name = environment_arg(args, suspend ? "suspend" : "resume");
  if (!name.ok()) {
    print_error(name.status(), false);
    return 1;
  }
  auto client = context.connect();
  auto stored = change_environment(
      *client, name.value(),
      [suspend](Object& env) {
        auto changed = with_suspend(std::move(env), suspend);
        if (!changed.ok()) return changed.status();
        env = std::move(changed).value();
        return Status::Ok();
      },
      kSuspendFieldManager);
  if (!stored.ok()) {
    print_error(stored.status(), stored.status().code() != Code::kFailedPrecondition);
    return 1;
  }
  std::cout << "environment/" << escape_for_display(name.value())
            << (suspend ? " suspended" : " resumed") << "\n";
  return 0;
}

}  // namespace cenv::cli
