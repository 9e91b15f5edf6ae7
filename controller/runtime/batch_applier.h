#pragma once
// BatchApplier: a server-side apply of many objects at once, for reconcilers that keep a set
// of objects applied (an Environment's Git source): every object in one transaction, all or
// nothing, optionally pruning the members of an apply set the batch no longer holds. The
// in-process client (controller/app/in_process_client.h) implements it over the API service.
// Implementations are thread-safe.

#include <string>
#include <vector>

#include "api/object.h"
#include "api/status.h"

namespace cenv {

struct BatchApplyItem {
  Object object;       // the desired object (status is ignored)
  std::string source;  // where it came from, prefixed to its errors ("a.yaml (document 2)")
};

struct BatchApplyOptions {
  // Who applies: the owner of the fields it sets. Required.
  std::string field_manager;
  // Validate and compute the outcomes, write nothing. Default false.
  bool dry_run = false;
  // Take over fields another manager owns instead of a Conflict. Default false.
  bool force = false;
  // Non-empty: every object is labelled a member of this apply set
  // (applyset.cenv.io/part-of). Default empty.
  std::string applyset;
  // Delete the members of `applyset` the batch lacks (but those annotated
  // cenv.io/prune: disabled). Default false.
  bool prune = false;
  // Members of `applyset` that stay although the batch lacks them (a one-shot CommandRun that
  // must not be applied again). Default none.
  std::vector<ObjectKey> keep;
};

struct BatchApplyOutcome {
  std::string action;  // "created", "configured", "unchanged" or "pruned"
  Object object;       // as stored (as it would be, on dry run); the deleted one when pruned
};

class BatchApplier {
 public:
  virtual ~BatchApplier() = default;
  // Applies every item in one transaction; outcomes in the order of `items`, then the pruned
  // objects. Invalid with one line per problem (each naming source, object and field) when any
  // item is bad, NotFound for a missing namespace, Conflict as the API answers: then nothing
  // is written.
  virtual Result<std::vector<BatchApplyOutcome>> apply_batch(std::vector<BatchApplyItem> items,
                                                             const BatchApplyOptions& options) = 0;
};

}  // namespace cenv
