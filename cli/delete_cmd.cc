#include "cli/delete_cmd.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "api/annotations.h"
#include "api/json_fields.h"
#include "api/kinds.h"
#include "cli/common.h"
#include "cli/manifest_reader.h"

namespace cenv::cli {

namespace {

struct Target {
  std::string kind, ns, name;
  bool namespaced;
};

// The objects to delete: those of the manifest files, or those named by the arguments.
// Prints the problem and returns nullopt on bad input.
std::optional<std::vector<Target>> resolve_targets(const std::string& ns_flag,
                                                   const DeleteFlags& flags) {
  std::vector<Target> targets;
  const std::string default_ns = ns_flag.empty() ? "default" : ns_flag;
  if (flags.files.empty()) {
    auto refs = resolve_refs(flags.args);
    if (!refs.ok()) {
      print_error(refs.status(), /*from_server=*/false);
      return std::nullopt;
    }
    for (const auto& r : refs.value()) {
      targets.push_back(
          {r.kind->kind, r.kind->namespaced ? default_ns : "", r.name, r.kind->namespaced});
    }
    return targets;
  }
  if (!flags.args.empty()) {
    std::cerr << "error: names cannot be provided when a path is specified\n";
    return std::nullopt;
  }
  auto manifests = read_manifests(flags.files, flags.recursive);
  if (!manifests.ok()) {
    std::cerr << "error: " << manifests.status().message() << "\n";
    return std::nullopt;
  }
  for (const auto& m : manifests.value()) {
    auto info = resolve_kind(std::string(m.object.kind()));
    if (!info.ok()) {
      std::cerr << "error: " << m.source << ": " << info.status().message() << "\n";
      return std::nullopt;
    }
    std::string ns(m.object.ns());
    if (ns.empty()) ns = default_ns;
    targets.push_back({info.value()->kind, info.value()->namespaced ? ns : "",
                       std::string(m.object.name()), info.value()->namespaced});
  }
  // Objects before the Environments that hold them, so each delete is reported once.
  std::stable_sort(targets.begin(), targets.end(),
                   [](const Target& a, const Target& b) { return a.namespaced > b.namespaced; });
  return targets;
}

// Marks Service `name` in `ns` so that deleting it removes its volumes too (the annotation
// the Service reconciler reads). Retries a conflicting update a few times.
Status mark_for_purge(ControllerClient& client, const std::string& ns, const std::string& name) {
  for (int attempt = 0;; ++attempt) {
    auto svc = client.get("Service", ns, name);
    if (!svc.ok()) return svc.status();
    Object obj = std::move(svc).value();
    auto& annotations = obj.metadata()["annotations"];
    if (!annotations.is_object()) annotations = boost::json::object();
    if (string_field(annotations.get_object(), kPurgeVolumesAnnotation) == "true") {
      return Status::Ok();
    }
    annotations.get_object()[kPurgeVolumesAnnotation] = "true";
    auto updated = client.update(obj, "cenv-delete");
    if (updated.ok() || updated.status().code() != Code::kConflict || attempt >= 4) {
      return updated.status();
    }
  }
}

// --purge: marks the Services that deleting `t` deletes (it, or every Service of an
// Environment) so their volumes go with them. Returns 1 when one could not be marked.
int purge_services(ControllerClient& client, const Target& t, bool ignore_not_found) {
  std::vector<std::string> services;
  if (t.kind == "Service") {
    services.push_back(t.name);
  } else if (auto listed = client.list("Service", t.name, ""); listed.ok()) {
    for (const Object& o : listed->first) services.emplace_back(o.name());
  }
  std::string svc_ns = t.kind == "Service" ? t.ns : t.name;
  int rc = 0;
  for (const auto& name : services) {
    Status marked = mark_for_purge(client, svc_ns, name);
    if (!marked.ok() && !(marked.code() == Code::kNotFound && ignore_not_found)) {
      print_error(marked);
      rc = 1;
    }
  }
  return rc;
}

// Like kubectl, waits until objects held by finalizers are really gone. Returns 1 when one is
// still there at `deadline`.
int wait_until_gone(ControllerClient& client, const std::vector<const Target*>& waiting,
                    std::chrono::system_clock::time_point deadline) {
  int rc = 0;
  for (const Target* t : waiting) {
    std::cerr << "waiting for " << lower_kind(t->kind) << " \"" << t->name
              << "\" to be finalized...\n";
    // Read it first and watch from the version read: it may be gone already (the watch of a
    // "current" start would then wait for a DELETED that happened before it).
    auto now = client.get(t->kind, t->ns, t->name);
    if (!now.ok() && now.status().code() == Code::kNotFound) continue;
    const std::string from = now.ok() ? std::to_string(now->resource_version()) : "";
    bool done = false;
    Status s = client.watch(
        t->kind, t->ns, "", from,
        [&](const std::string& type, const Object& o) {
          if (type == "DELETED" && o.name() == t->name) {
            done = true;
            return false;
          }
          return true;
        },
        deadline);
    if (!done) {
      auto still = client.get(t->kind, t->ns, t->name);
      done = !still.ok() && still.status().code() == Code::kNotFound;
    }
    if (!done) {
      std::cerr << "error: timed out waiting for " << lower_kind(t->kind) << " \"" << t->name
                << "\" to be deleted: finalizers remain (" << s.message() << ")\n";
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

int run_delete(const Context& context, const std::string& ns, const DeleteFlags& flags) {
  auto targets = resolve_targets(ns, flags);
  if (!targets) return 1;
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
  auto client = context.connect();
  int rc = 0;
  std::vector<const Target*> waiting;
  for (const auto& t : *targets) {
    if (flags.purge && (t.kind == "Service" || t.kind == "Environment")) {
      rc |= purge_services(*client, t, flags.ignore_not_found);
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
  if (flags.wait && !waiting.empty()) {
    rc |= wait_until_gone(*client, waiting, std::chrono::system_clock::now() + timeout.value());
  }
  return rc;
}

}  // namespace cenv::cli
