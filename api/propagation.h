#pragma once
// What a delete does to the deleted object's dependents (objects naming it in their
// metadata.ownerReferences), as Kubernetes' propagationPolicy: deleted with it (background),
// deleted before it (foreground: the owner waits, holding kForegroundFinalizer), or released
// (orphan: their references to it are removed).

namespace cenv {

enum class Propagation { kBackground, kForeground, kOrphan };

}  // namespace cenv
