#include "reconcilers/source_manifests.h"

#include <algorithm>
#include <map>

#include "api/annotations.h"
#include "api/conditions.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/manifest_objects.h"
#include "api/write_normalization.h"
#include "reconcilers/service_spec.h"

namespace cenv {

namespace json = boost::json;

namespace {

// The kinds a source applies, in apply order.
constexpr std::string_view kSourceKinds[] = {"Module", "Service", "CommandRun"};

int kind_rank(std::string_view kind) {
  for (size_t i = 0; i < std::size(kSourceKinds); ++i) {
    if (kSourceKinds[i] == kind) return static_cast<int>(i);
  }
  return -1;
}

// "" for the root; the path without leading and trailing '/' otherwise.
std::string trimmed_path(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path == "." ? std::string() : std::string(path);
}

bool hidden(std::string_view rel) {
  if (rel.empty() || rel.front() == '.') return true;
  return rel.find("/.") != std::string_view::npos;
}

// The problems of one object, each a line `source: object: field: why`; fills `hook`.
void check_object(const SourcedObject& o, std::string_view env, SourceHook& hook,
                  std::vector<std::string>& problems) {
  const std::string where = o.source + ": " + escape_for_display(describe_object(o.object)) + ": ";
  const std::string_view kind = o.object.kind();
  if (kind_rank(kind) < 0) {
    problems.push_back(where + "kind: \"" + escape_for_display(kind) +
                       "\" is not applied from a Git source (it applies Module, Service and "
                       "CommandRun)");
    return;
  }
  if (o.object.name().empty()) {
    problems.push_back(where +
                       "metadata.name: Required value (objects of a Git source are "
                       "named; generateName is not used)");
  }
  if (!o.object.ns().empty() && o.object.ns() != env) {
    problems.push_back(where +
                       "metadata.namespace: a Git source writes only into its own "
                       "Environment \"" +
                       std::string(env) + "\"");
  }
  const std::string_view h =
      string_field(object_field(o.object.metadata_or_null(), "annotations"), kHookAnnotation);
  if (h.empty()) return;
  const std::string field = "metadata.annotations[" + std::string(kHookAnnotation) + "]";
  if (kind != "CommandRun") {
    problems.push_back(where + field + ": hooks are CommandRuns");
  } else if (h == kPreSyncHook) {
    hook = SourceHook::kPreSync;
  } else if (h == kPostSyncHook) {
    hook = SourceHook::kPostSync;
  } else {
    problems.push_back(where + field + ": \"" + escape_for_display(h) +
                       "\" is not a hook; use pre-sync or post-sync");
  }
}

void diff_into(const json::value& a, const json::value& b, const std::string& path,
               std::vector<std::string>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    std::map<std::string, std::pair<const json::value*, const json::value*>> keys;
    for (const auto& kv : a.get_object()) keys[std::string(kv.key())].first = &kv.value();
    for (const auto& kv : b.get_object()) keys[std::string(kv.key())].second = &kv.value();
    static const json::value kNull;
    for (const auto& [key, pair] : keys) {
      diff_into(pair.first ? *pair.first : kNull, pair.second ? *pair.second : kNull,
                path + "." + key, out);
    }
    return;
  }
  out.push_back(path);
}

}  // namespace

std::string SourceSpec::checkout_identity() const {
  return git.url + "\n" + git.ref + "\n" + git.subdir + "\n" + secret_ref + "\n" +
         git.credentials.username + "\n" + git.credentials.ssh_known_hosts;
}

Result<std::optional<SourceSpec>> read_source_spec(const Object& env) {
  const json::object* source = object_field(env.spec_or_null(), "source");
  if (!source) return std::optional<SourceSpec>();
  SourceSpec s;
  const json::object* git = object_field(*source, "git");
  s.git.url = std::string(string_field(git, "url"));
  if (s.git.url.empty()) return Status::Invalid("spec.source.git.url: Required value");
  s.git.ref = std::string(string_field(git, "ref"));
  if (s.git.ref.empty()) s.git.ref = "main";
  s.git.credentials.username = std::string(string_field(git, "username"));
  s.git.credentials.ssh_known_hosts = std::string(string_field(git, "knownHosts"));
  s.git.subdir = trimmed_path(string_field(*source, "path"));
  s.secret_ref = std::string(string_field(*source, "secretRef"));
  if (std::string_view interval = string_field(*source, "interval"); !interval.empty()) {
    auto d = parse_duration(interval);
    if (!d.ok()) return d.status().with_prefix("spec.source.interval");
    if (d.value() < std::chrono::seconds(1)) {
      return Status::Invalid("spec.source.interval: must be at least 1s");
    }
    s.interval = d.value();
  }
  if (const json::value* prune = value_field(*source, "prune"); prune && prune->is_bool()) {
    s.prune = prune->get_bool();
  }
  s.suspend = bool_field(*source, "suspend");
  return std::optional<SourceSpec>(std::move(s));
}

Result<std::vector<DesiredObject>> desired_objects(const modules::FileTree& files,
                                                   std::string_view path, std::string_view env,
                                                   std::string_view revision,
                                                   const ParseLimits& limits) {
  const std::string prefix = trimmed_path(path).empty() ? "" : trimmed_path(path) + "/";
  std::vector<DesiredObject> out;
  std::vector<std::string> problems;
  size_t manifests = 0;
  for (const auto& [rel, entry] : files.files) {
    if (hidden(rel) || !is_manifest_file_name(rel)) continue;
    ++manifests;
    const std::string shown = prefix + rel;
    auto docs = parse_manifest(entry.data, shown, limits);
    if (!docs.ok()) {
      problems.push_back(docs.status().message());
      continue;
    }
    auto objects = manifest_objects(docs.value(), shown);
    if (!objects.ok()) {
      problems.push_back(objects.status().message());
      continue;
    }
    for (SourcedObject& o : objects.value()) {
      SourceHook hook = SourceHook::kNone;
      const size_t before = problems.size();
      check_object(o, env, hook, problems);
      if (problems.size() != before) continue;
      o.object.set_ns(env);
      if (o.object.kind() == "CommandRun") {
        json::value& annotations = o.object.metadata()["annotations"];
        if (!annotations.is_object()) annotations = json::object();
        annotations.get_object()[kSourceRevisionAnnotation] = revision;
      }
      out.push_back({{std::move(o.object), std::move(o.source)}, hook});
    }
  }
  if (manifests == 0) {
    problems.push_back("no manifests (*.yaml, *.yml, *.json) under path \"" +
                       escape_for_display(prefix.empty() ? "/" : prefix) + "\"");
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "\n") + p;
    return Status::Invalid(message);
  }
  std::stable_sort(out.begin(), out.end(), [](const DesiredObject& a, const DesiredObject& b) {
    return kind_rank(a.item.object.kind()) < kind_rank(b.item.object.kind());
  });
  return out;
}

std::string source_applyset(std::string_view env) {
  std::string set = "gitops." + std::string(env);
  if (set.size() <= 63) return set;
  return set.substr(0, 46) + "-" + modules::sha256_hex(env).substr(0, 16);
}

std::vector<std::string> changed_fields(const Object& before, const Object& after) {
  std::vector<std::string> out;
  static const json::value kNull;
  auto field = [](const json::object* o, std::string_view key) -> const json::value& {
    const json::value* v = o ? value_field(*o, key) : nullptr;
    return v ? *v : kNull;
  };
  diff_into(field(&before.json(), "spec"), field(&after.json(), "spec"), "spec", out);
  for (std::string_view key : {"labels", "annotations"}) {
    diff_into(field(before.metadata_or_null(), key), field(after.metadata_or_null(), key),
              "metadata." + std::string(key), out);
  }
  return out;
}

std::optional<std::string> not_ready(const Object& obj) {
  auto ready = get_condition(obj, "Ready");
  if (!ready) return std::string("no Ready condition yet");
  if (ready->observed_generation < obj.generation()) {
    return "generation " + std::to_string(obj.generation()) + " not observed yet";
  }
  if (ready->status == kConditionTrue) return std::nullopt;
  std::string why = "Ready=" + ready->status;
  if (!ready->reason.empty()) {
    why += " (" + ready->reason + (ready->message.empty() ? "" : ": " + ready->message) + ")";
  }
  return why;
}

std::string short_name(const Object& obj) {
  return lower_kind(obj.kind()) + "/" + std::string(obj.name());
}

}  // namespace cenv
