#pragma once
// Finalizers on metadata.finalizers (DESIGN section 5): a reconciler that owns something
// outside the API (a container, a network) adds kCleanupFinalizer first; deleting the object
// then only marks it (metadata.deletionTimestamp), the reconciler cleans up and removes the
// finalizer, and the API server removes the object. Pure functions; thread-safe.

#include <string_view>

#include "api/object.h"

namespace cenv {

inline constexpr std::string_view kCleanupFinalizer = "cenv.io/cleanup";

bool has_finalizer(const Object& obj, std::string_view name);
// Appends `name` unless present; true when added.
bool add_finalizer(Object& obj, std::string_view name);
// Removes `name` (every occurrence); true when it was present.
bool remove_finalizer(Object& obj, std::string_view name);
// True once deletion was requested (metadata.deletionTimestamp is set).
bool is_being_deleted(const Object& obj);

}  // namespace cenv
