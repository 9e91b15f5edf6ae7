#pragma once
// JsonArena: a Boost.JSON memory resource for many values that are built and dropped together
// (the stored objects one apply compares with): allocation takes the next bytes of a block,
// deallocation frees nothing, and every block is freed when the arena goes, that is when the
// last value using it does (make() gives a shared storage_ptr; each value holds it).
// Thread-safe: values from one arena may be copied or grown on several threads at once.

#include <boost/json.hpp>
#include <cstddef>
#include <mutex>

namespace cenv {

class JsonArena final : public boost::json::memory_resource {
 public:
  // A new arena as a storage_ptr to build values with (boost::json::make_shared_resource).
  static boost::json::storage_ptr make();

  JsonArena() = default;
  JsonArena(const JsonArena&) = delete;
  JsonArena& operator=(const JsonArena&) = delete;

 private:
  void* do_allocate(std::size_t n, std::size_t align) override;
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::mutex mu_;
  boost::json::monotonic_resource blocks_;  // guarded by mu_
};

}  // namespace cenv
