#pragma once
// Annotations cenv itself reads on objects: one home for each name, used by the CLI that sets
// them and the controllers that act on them.

#include <string_view>

namespace cenv {

// On a Service being deleted: "true" removes its named volumes with it (`cenv delete
// --purge-volumes`); without it the volumes are kept, as docker compose keeps them.
inline constexpr std::string_view kPurgeVolumesAnnotation = "cenv.io/purge-volumes";

// On an Environment: when a rebuild of its runtime image was last asked for (`cenv env build`,
// RFC 3339). A newer value fetches Git module sources again and builds even a recipe whose
// previous build failed.
inline constexpr std::string_view kBuildRequestedAtAnnotation = "cenv.io/build-requested-at";

// On an Environment with spec.source: when a sync was last asked for (RFC 3339). A value other
// than status.source.lastHandledSyncRequest makes the source reconciler fetch and apply at once
// instead of at its next interval (the webhook and `cenv sync` set it).
inline constexpr std::string_view kSyncRequestedAtAnnotation = "cenv.io/sync-requested-at";
// On a CommandRun applied from an Environment's Git source: the commit it was created for. A
// run is created once per revision: the same revision never runs it again.
inline constexpr std::string_view kSourceRevisionAnnotation = "cenv.io/source-revision";
// On a CommandRun of a Git source: "pre-sync" runs it (to completion) before the revision's
// other objects are applied, "post-sync" once they are all Ready. A failed pre-sync hook stops
// the revision.
inline constexpr std::string_view kHookAnnotation = "cenv.io/hook";
inline constexpr std::string_view kPreSyncHook = "pre-sync";
inline constexpr std::string_view kPostSyncHook = "post-sync";
// On a member of an apply set (`cenv apply --prune`, an Environment's Git source): "disabled"
// keeps it when the set no longer holds it.
inline constexpr std::string_view kPruneAnnotation = "cenv.io/prune";
inline constexpr std::string_view kPruneDisabled = "disabled";
}  // namespace cenv
