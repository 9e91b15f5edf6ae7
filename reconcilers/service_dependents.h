#pragma once
// Which Services depend on which (Service.spec.dependsOn), for the Service controller's
// mapping of a changed Service to the Services waiting on it.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/object.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/reconciler.h"

namespace cenv {

// The names a Service's spec.dependsOn lists.
std::vector<std::string> service_depends_on(const Object& svc);

// Who depends on whom, kept from the Service events the mapper sees, so that finding the
// dependents of a changed Service costs its number of dependents, not the namespace's size.
class DependentsIndex {
 public:
  explicit DependentsIndex(Informer& services) : services_(services) {}

  // Records `svc`'s dependsOn (or forgets it once it left the cache) and returns the Services
  // of its namespace that depend on it.
  std::vector<Request> update_and_find(const Object& svc);

 private:
  struct Edges {
    std::vector<std::string> deps;
  };
  Informer& services_;
  std::mutex mu_;
  std::map<std::string, Edges> edges_;  // by uid; guarded by mu_
  // (namespace, dependency name) -> names of the Services depending on it; guarded by mu_
  std::map<std::pair<std::string, std::string>, std::set<std::string>> dependents_;
};

}  // namespace cenv
