#include "controller/runtime/finalizers.h"

#include "controller/server/deletion_plan.h"

namespace cenv {

// One implementation of metadata.finalizers: the API server's (deletion_plan.h).

bool has_finalizer(const Object& obj, std::string_view name) {
  return has_finalizer_named(obj, name);
}

bool add_finalizer(Object& obj, std::string_view name) {
  if (has_finalizer_named(obj, name)) return false;
  add_finalizer_named(obj, name);
  return true;
}

bool remove_finalizer(Object& obj, std::string_view name) {
  if (!has_finalizer_named(obj, name)) return false;
  drop_finalizer(obj, name);
  return true;
}

bool is_being_deleted(const Object& obj) { return is_terminating(obj); }

}  // namespace cenv
