#pragma once
// metadata.finalizers (DESIGN sections 2 and 5): a reconciler that owns something outside the
// API (a container, a network) adds kCleanupFinalizer first; deleting the object then only
// marks it (metadata.deletionTimestamp), the reconciler cleans up and removes the finalizer,
// and the API server removes the object. The one implementation, used by the API server's
// deletion plan and by reconcilers alike. Pure functions; thread-safe.

#include <cstddef>
#include <string_view>

#include "api/object.h"

namespace cenv {

// Held by objects whose reconciler cleans up outside the API.
inline constexpr std::string_view kCleanupFinalizer = "cenv.io/cleanup";
// Held by an owner deleted with foreground propagation while its dependents remain.
inline constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";
// Held by a deleted Environment while objects of its namespace still wait for finalizers.
inline constexpr std::string_view kNamespaceFinalizer = "cenv.io/namespace";

bool has_finalizer(const Object& obj, std::string_view name);
// Appends `name` unless present; true when added.
bool add_finalizer(Object& obj, std::string_view name);
// Removes `name` (every occurrence; the list goes when it is empty); true when it was present.
bool remove_finalizer(Object& obj, std::string_view name);
// How many finalizers `obj` holds.
size_t finalizer_count(const Object& obj);
// True once deletion was requested (metadata.deletionTimestamp is set).
bool is_being_deleted(const Object& obj);

}  // namespace cenv
