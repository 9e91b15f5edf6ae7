#include "api/json_arena.h"

namespace cenv {

boost::json::storage_ptr JsonArena::make() {
  return boost::json::make_shared_resource<JsonArena>();
}

void* JsonArena::do_allocate(std::size_t n, std::size_t align) {
  std::lock_guard lock(mu_);
  return blocks_.allocate(n, align);
}

}  // namespace cenv
