#pragma once
// Client: how a reconciler reads and writes objects (controller-runtime's client.Client),
// composed of three small interfaces. ApiServiceClient
// (controller/app/in_process_client.h) is the in-process one.
// Implementations are thread-safe.

#include <cstdint>
#include <string_view>

#include "api/object.h"
#include "api/propagation.h"
#include "api/selector.h"
#include "api/status.h"
#include "controller/store/store.h"  // ObjectList

namespace cenv {

class Reader {
 public:
  virtual ~Reader() = default;
  // The stored object; NotFound when absent. `key.ns` is ignored for cluster-scoped kinds.
  virtual Result<Object> get(const ObjectKey& key) = 0;
  // Objects of `kind` in namespace `ns` (every namespace when empty) matching `selector`,
  // ordered by namespace then name, with the revision they were read at.
  virtual Result<ObjectList> list(std::string_view kind, std::string_view ns,
                                  const LabelSelector& selector) = 0;
};

struct DeleteOptions {
  // Refuses the delete (Conflict) unless the stored object has this resourceVersion.
  // Default 0: whatever version is stored.
  int64_t resource_version = 0;
  // What happens to dependents (objects owning this one in their ownerReferences).
  // Default background: they are deleted too.
  Propagation propagation = Propagation::kBackground;
};

class Writer {
 public:
  virtual ~Writer() = default;
  // Creates `obj` (validated against its CRD; status is ignored). AlreadyExists when its key
  // is taken; Invalid or NotFound (missing namespace) as the API answers.
  virtual Result<Object> create(const Object& obj) = 0;
  // Server-side apply of `obj` as this client's field manager, taking over conflicting fields
  // (controllers own what they apply). Creates the object when missing.
  virtual Result<Object> apply(const Object& obj) = 0;
  // Replaces metadata and spec (status is ignored). Conflict when `obj` carries a stale
  // metadata.resourceVersion; NotFound when absent. Writes nothing when nothing changed.
  virtual Result<Object> update(const Object& obj) = 0;
  // Deletes the object; NotFound when absent. With finalizers it is only marked
  // (deletionTimestamp).
  virtual Status remove(const ObjectKey& key, const DeleteOptions& options) = 0;
};

class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  // Replaces the status of the stored object with `obj`'s (spec and metadata are ignored) and
  // returns the stored object. A status equal to the stored one is not written (no revision,
  // no watch event, so the controller is not woken by its own no-op) and the stored object is
  // returned. Conflict when `obj` carries a stale resourceVersion and the status differs.
  virtual Result<Object> update_status(const Object& obj) = 0;
};

class Client : public Reader, public Writer, public StatusWriter {};

}  // namespace cenv
