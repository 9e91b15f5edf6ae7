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

}  // namespace cenv
