#pragma once
// What an Environment's Git source asks for, read without side effects: spec.source itself
// (SourceSpec), the objects the manifests of one revision hold (desired_objects: every rule on
// what a source may write, one error per problem naming file, object and field), and the
// observations the source reconciler reports (which fields a re-apply restored, whether an
// applied object is Ready). Pure functions; thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "api/yaml_reader.h"
#include "controller/runtime/batch_applier.h"
#include "modules/file_tree.h"
#include "modules/git_source.h"

namespace cenv {

// The field manager an Environment's Git source applies as.
inline constexpr std::string_view kSourceFieldManager = "cenv-gitops";

// Environment.spec.source.
struct SourceSpec {
  // url, ref and subdir (spec.source.path); credentials are filled by the reconciler.
  modules::GitSourceSpec git;
  // The key of the Environment's spec.secrets holding the token or ssh key; empty: none.
  std::string secret_ref;
  std::chrono::milliseconds interval{60'000};  // spec.source.interval, default 1m
  bool prune = true;                           // spec.source.prune, default true
  bool suspend = false;                        // spec.source.suspend, default false

  // What a checkout depends on (url, ref, path, secretRef, user): a change fetches again.
  std::string checkout_identity() const;
};

// spec.source of `env`; nullopt when it has none. Invalid naming the field
// (`spec.source.interval: ...`) when a value cannot be used.
Result<std::optional<SourceSpec>> read_source_spec(const Object& env);

enum class SourceHook { kNone, kPreSync, kPostSync };

// One object of a revision, ready to apply into the Environment.
struct DesiredObject {
  BatchApplyItem item;
  SourceHook hook = SourceHook::kNone;
};

// The objects of the manifests (*.yaml, *.yml, *.json; names starting with '.' skipped) in
// `files` (the tree at spec.source.path, whose paths are shown prefixed with `path`), for
// Environment `env` at commit `revision`, in apply order: Modules, Services, CommandRuns, each
// in file order. Every object gets namespace `env`; a CommandRun the annotation
// cenv.io/source-revision: `revision`. Invalid, one line per problem naming file, document,
// object and field, for: a manifest that does not parse or crosses `limits`, a kind other than
// Module, Service and CommandRun, another namespace, a missing name, a bad cenv.io/hook, or no
// manifest at all.
Result<std::vector<DesiredObject>> desired_objects(const modules::FileTree& files,
                                                   std::string_view path, std::string_view env,
                                                   std::string_view revision,
                                                   const ParseLimits& limits = {});

// The apply set of Environment `env`'s source (a label value, at most 63 characters).
std::string source_applyset(std::string_view env);

// The paths ("spec.image", "metadata.labels.app") whose values differ between `before` and
// `after` in spec, metadata.labels and metadata.annotations; lists compare whole.
std::vector<std::string> changed_fields(const Object& before, const Object& after);

// Why `obj` is not Ready for its current generation ("Ready=False (Starting: ...)"), or
// nullopt when it is.
std::optional<std::string> not_ready(const Object& obj);

// "kind/name" in lower case, as the CLI names objects ("service/web").
std::string short_name(const Object& obj);

}  // namespace cenv
