#pragma once
// copy_store: makes one store hold exactly the objects of another (`cenv db start|stop`, which
// move the controller between SQLite and PostgreSQL). Engine-free: it goes through the Store
// interface only.

#include <cstddef>
#include <string>
#include <vector>

#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

struct CopyReport {
  size_t copied = 0;     // objects written into the target
  size_t removed = 0;    // objects the target had that the source lacks (or replaced)
  size_t log_bytes = 0;  // CommandRun output copied with its objects
  size_t archives = 0;   // module source archives the target lacked, copied
};

// Replaces the objects of `kinds` in `to` with those of `from`, in one transaction of `to`:
// every object of those kinds in `to` is deleted, then every object of `from` is created with
// its uid, creationTimestamp, generation, labels, annotations, finalizers, owner references,
// spec and status, and each CommandRun's stored output; every source archive of `from` the
// target lacks is copied first (archives are only ever added). The target assigns new
// resourceVersions; watchers of the target relist.
// Nothing is written when any read or the commit fails.
Result<CopyReport> copy_store(Store& from, Store& to, const std::vector<std::string>& kinds);

}  // namespace cenv
