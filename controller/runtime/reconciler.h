#pragma once
// Reconciler: the one function a controller implements (DESIGN section 5). It is called with
// the key of an object whose desired or actual state may have changed, reads the whole state
// and moves it one step closer. Level-triggered: it is told *which* object, never *what*
// happened, and must be idempotent.

#include <chrono>
#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include "api/object.h"
#include "api/status.h"

namespace cenv {

// The key of the object to reconcile. `ns` is empty for cluster-scoped kinds (Environment).
struct Request {
  std::string kind;
  std::string ns;
  std::string name;

  auto operator<=>(const Request&) const = default;  // NOLINT(modernize-use-nullptr)
  bool operator==(const Request&) const = default;

  ObjectKey key() const { return {kind, ns, name}; }
  static Request from(const ObjectKey& k) { return {k.kind, k.ns, k.name}; }
  static Request from(const Object& o) {
    return {std::string(o.kind()), std::string(o.ns()), std::string(o.name())};
  }
  // "Kind/name" or "Kind ns/name", for logs.
  std::string to_string() const { return key().to_string(); }
};

// What the controller does with the request after reconcile() returned:
//  * error not ok: requeue with per-key exponential back-off (the error is logged);
//  * else requeue_after > 0: forget the back-off, reconcile again after that delay;
//  * else requeue: requeue with back-off (as for an error, without logging one);
//  * else: done; forget the back-off. A new change enqueues the key again.
struct ReconcileResult {
  bool requeue = false;
  std::chrono::milliseconds requeue_after{0};
  Status error;

  static ReconcileResult done() { return {}; }
  static ReconcileResult after(std::chrono::milliseconds d) { return {false, d, Status::Ok()}; }
  static ReconcileResult failed(Status s) { return {false, {}, std::move(s)}; }
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Called by one worker at a time for a given request (never concurrently for the same
  // request; concurrently for different ones). Must not throw; an exception is caught by the
  // controller and treated as an Internal error.
  virtual ReconcileResult reconcile(const Request& req) = 0;
};

// A Reconciler from a function, for small controllers and tests.
class ReconcilerFunc : public Reconciler {
 public:
  explicit ReconcilerFunc(std::function<ReconcileResult(const Request&)> fn) : fn_(std::move(fn)) {}
  ReconcileResult reconcile(const Request& req) override { return fn_(req); }

 private:
  std::function<ReconcileResult(const Request&)> fn_;
};

}  // namespace cenv

template <>
struct std::hash<cenv::Request> {
  size_t operator()(const cenv::Request& r) const noexcept {
    size_t h = std::hash<std::string>{}(r.kind);
    h = h * 31 + std::hash<std::string>{}(r.ns);
    return h * 31 + std::hash<std::string>{}(r.name);
  }
};
