#pragma once
// Object: one cenv resource (apiVersion, kind, metadata, spec, status) held as JSON, as
// Kubernetes' "unstructured" objects are. The schema lives in crds/, not in C++ types.
// Not thread-safe; copy freely (value type).

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv {

inline constexpr std::string_view kApiVersion = "cenv.io/v1";
inline constexpr std::string_view kDefaultNamespace = "default";

// Identifies one object. `ns` is empty for cluster-scoped kinds (Environment).
struct ObjectKey {
  std::string kind;
  std::string ns;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  // "Kind/name" or "Kind ns/name", for messages.
  std::string to_string() const;
};

class Object {
 public:
  Object() = default;
  explicit Object(boost::json::object json) : json_(std::move(json)) {}

  // Parses JSON text holding one object; Invalid when it is not a JSON object, or is larger or
  // nests deeper than api/limits.h allows (kMaxObjectBytes, kMaxNestingDepth).
  static Result<Object> from_json(std::string_view text);
  // As above, with the object's memory from `storage` (a monotonic arena for many objects read
  // together, say); the object keeps `storage` alive when it is shared (make_shared_resource).
  static Result<Object> from_json(std::string_view text, boost::json::storage_ptr storage);

  const boost::json::object& json() const { return json_; }
  boost::json::object& json() { return json_; }
  std::string to_json() const { return boost::json::serialize(json_); }

  std::string_view api_version() const { return str_field(json_, "apiVersion"); }
  std::string_view kind() const { return str_field(json_, "kind"); }
  std::string_view name() const { return meta_str("name"); }
  std::string_view ns() const { return meta_str("namespace"); }
  std::string_view uid() const { return meta_str("uid"); }
  std::string_view generate_name() const { return meta_str("generateName"); }
  // metadata.resourceVersion as a number; 0 when absent or not a number.
  int64_t resource_version() const;
  int64_t generation() const;
  ObjectKey key() const { return {std::string(kind()), std::string(ns()), std::string(name())}; }

  void set_name(std::string_view v) { set_meta("name", v); }
  void set_ns(std::string_view v);  // empty removes the field
  void set_uid(std::string_view v) { set_meta("uid", v); }
  void set_resource_version(int64_t rv);
  void clear_resource_version();
  void set_generation(int64_t g) { metadata()["generation"] = g; }
  void set_creation_timestamp(std::string_view ts) { set_meta("creationTimestamp", ts); }

  // metadata, spec and status, created empty on first mutable access.
  boost::json::object& metadata() { return child("metadata"); }
  boost::json::object& spec() { return child("spec"); }
  boost::json::object& status() { return child("status"); }
  // Read-only views; nullptr when absent or not an object.
  const boost::json::object* metadata_or_null() const { return child_or_null("metadata"); }
  const boost::json::object* spec_or_null() const { return child_or_null("spec"); }
  const boost::json::object* status_or_null() const { return child_or_null("status"); }
  // metadata.labels; nullptr when absent.
  const boost::json::object* labels() const;

  bool operator==(const Object& o) const { return json_ == o.json_; }

  // The string field `key` of `o`; empty when absent or not a string. Same as string_field()
  // of api/json_fields.h, which new code uses.
  static std::string_view str_field(const boost::json::object& o, std::string_view key);

 private:
  std::string_view meta_str(std::string_view key) const;
  void set_meta(std::string_view key, std::string_view value);
  boost::json::object& child(std::string_view key);
  const boost::json::object* child_or_null(std::string_view key) const;

  boost::json::object json_;
};

// Lower-cased kind, as kubectl prints it in "service/web".
std::string lower_kind(std::string_view kind);

}  // namespace cenv
