#pragma once
// Server-side apply's field ownership (DESIGN section 3), after Kubernetes' structured merge:
// every field of spec, metadata.labels, metadata.annotations, metadata.finalizers and
// metadata.ownerReferences is owned by the field managers that set it, recorded in
// metadata.managedFields as FieldsV1 tries ("f:spec": {"f:ports": {"k:{...}": {...}}}).
// Each entry also names the `user` whose write last changed the manager's fields (beside
// `manager`, `operation` and `time`, which move with it); entries written before users were
// recorded have none.
// Lists whose schema says `x-kubernetes-list-type: map` merge item by item on
// `x-kubernetes-list-map-keys`; `set` lists merge by value; other lists are atomic.
// Pure functions of their arguments; thread-safe.

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/kinds.h"
#include "api/object.h"
#include "api/status.h"

namespace cenv {

// One element of a field path: "f:name", "k:{\"name\":\"x\"}" or "v:\"x\"".
using FieldPath = std::vector<std::string>;

struct ApplyOptionsSsa {
  std::string manager;    // who applies, e.g. "cenv"
  bool force = false;     // take fields other managers own instead of failing with Conflict
  std::string now;        // RFC 3339 time stamped on the manager's entry when it changes
  std::string user = "";  // who applies, recorded with `now`; empty: the entry names no user
};

struct FieldManagerShape;  // the owned parts' schema of one kind (private to field_manager.cc)

class FieldManager {
 public:
  // Prepares the kind's schema of owned fields once; reuse one FieldManager for many objects
  // of a kind. Copies share it.
  explicit FieldManager(const KindInfo& kind);

  // Applies `config` (the manifest, defaulted and validated) onto `live` (nullptr when the
  // object does not exist yet). Fields the manager applied before and has now dropped are
  // removed unless another manager owns them; fields set by others are kept. Conflict, naming
  // every conflicting field and its manager, when `config` changes a field another manager
  // owns (unless options.force). Returns the merged object with managedFields updated.
  Result<Object> apply(const Object* live, const Object& config,
                       const ApplyOptionsSsa& options) const;

  // True when apply(&live, config, options) would return `live` as it is: every value of
  // `config` is already in `live` and the manager's Apply entry owns exactly `config`'s fields.
  // The common case of a re-apply, answered without copying or merging anything. False says
  // only "ask apply()": it may still find nothing to change.
  bool unchanged_by(const Object& live, const Object& config, const ApplyOptionsSsa& options) const;

  // Records a full-object update (edit, patch, Update) by `manager` on behalf of `user`: it
  // takes ownership of every field it changed (its entry records `now` and `user`; empty: no
  // user), and other managers lose those fields. Returns `updated` with managedFields set.
  Object update(const Object& live, const Object& updated, const std::string& manager,
                const std::string& now, const std::string& user = {}) const;

  // The parts of an object that managers own, to compare: every top-level member but
  // apiVersion, kind, metadata and status (spec; an Event's fields), and metadata's labels,
  // annotations, finalizers and ownerReferences.
  boost::json::value owned_view(const boost::json::object& object) const;

  // ".spec.ports[containerPort=80,protocol=\"TCP\"].hostPort", for messages.
  static std::string path_text(const FieldPath& path);

 private:
  std::shared_ptr<const FieldManagerShape> shape_;
};

}  // namespace cenv
