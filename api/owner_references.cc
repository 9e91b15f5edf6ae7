#include "api/owner_references.h"

namespace cenv {

namespace json = boost::json;

namespace {

const json::array* refs_of(const Object& o) {
  const json::object* m = o.metadata_or_null();
  if (!m) return nullptr;
  auto it = m->find("ownerReferences");
  return (it != m->end() && it->value().is_array()) ? &it->value().get_array() : nullptr;
}

bool bool_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_bool() && it->value().get_bool();
}

}  // namespace

std::vector<OwnerReference> owner_references(const Object& o) {
  std::vector<OwnerReference> out;
  const json::array* refs = refs_of(o);
  if (!refs) return out;
  for (const json::value& v : *refs) {
    if (!v.is_object()) continue;
    const json::object& r = v.get_object();
    OwnerReference ref{std::string(Object::str_field(r, "apiVersion")),
                       std::string(Object::str_field(r, "kind")),
                       std::string(Object::str_field(r, "name")),
                       std::string(Object::str_field(r, "uid")),
                       bool_field(r, "controller"),
                       bool_field(r, "blockOwnerDeletion")};
    if (ref.kind.empty() || ref.name.empty() || ref.uid.empty()) continue;
    out.push_back(std::move(ref));
  }
  return out;
}

bool is_owned_by(const Object& o, std::string_view owner_uid) {
  for (const OwnerReference& r : owner_references(o)) {
    if (r.uid == owner_uid) return true;
  }
  return false;
}

Status set_owner_reference(Object& dependent, const Object& owner, bool controller) {
  if (owner.uid().empty()) {
    return Status::Invalid(owner.key().to_string() + " has no uid: store it before owning " +
                           dependent.key().to_string() + " with it");
  }
  json::value& slot = dependent.metadata()["ownerReferences"];
  if (!slot.is_array()) slot = json::array();
  json::array& refs = slot.get_array();
  if (controller) {
    for (const json::value& v : refs) {
      if (!v.is_object()) continue;
      const json::object& r = v.get_object();
      if (bool_field(r, "controller") && Object::str_field(r, "uid") != owner.uid()) {
        return Status::FailedPrecondition(dependent.key().to_string() +
                                          " is already controlled by " +
                                          std::string(Object::str_field(r, "kind")) + "/" +
                                          std::string(Object::str_field(r, "name")));
      }
    }
  }
  json::object ref;
  ref["apiVersion"] = owner.api_version().empty() ? kApiVersion : owner.api_version();
  ref["kind"] = owner.kind();
  ref["name"] = owner.name();
  ref["uid"] = owner.uid();
  if (controller) {
    ref["controller"] = true;
    ref["blockOwnerDeletion"] = true;
  }
  for (json::value& v : refs) {
    if (v.is_object() && Object::str_field(v.get_object(), "uid") == owner.uid()) {
      v = std::move(ref);
      return Status::Ok();
    }
  }
  refs.push_back(std::move(ref));
  return Status::Ok();
}

}  // namespace cenv
