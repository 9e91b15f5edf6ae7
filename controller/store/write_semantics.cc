#include "controller/store/write_semantics.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace cenv {

namespace json = boost::json;

std::string random_uuid_v4() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // No usable CSPRNG means uids could collide; that must not pass silently.
    std::fprintf(stderr, "cenv: OpenSSL RAND_bytes failed; cannot generate a uid\n");
    std::abort();
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

namespace {

// `Service "web"` as Kubernetes messages name an object.
std::string quoted(const Object& obj) {
  return std::string(obj.kind()) + " \"" + std::string(obj.name()) + "\"";
}

std::string in_namespace(const Object& obj) {
  if (obj.ns().empty()) return "";
  return " in namespace \"" + std::string(obj.ns()) + "\"";
}

const json::value* meta_field(const Object& obj, std::string_view key) {
  const json::object* m = obj.metadata_or_null();
  return m ? m->if_contains(key) : nullptr;
}

// True when the write carries a resourceVersion precondition (a non-empty value).
bool has_resource_version(const Object& obj) {
  const json::value* v = meta_field(obj, "resourceVersion");
  if (!v || v->is_null()) return false;
  return !(v->is_string() && v->get_string().empty());
}

// True when `obj`'s resourceVersion equals the stored object's (a string, or a number).
bool same_resource_version(const Object& obj, const Object& stored) {
  const json::value* v = meta_field(obj, "resourceVersion");
  const json::value* s = meta_field(stored, "resourceVersion");
  if (!v || !s || !s->is_string()) return false;
  if (v->is_string()) return v->get_string() == s->get_string();
  if (v->is_int64()) return std::to_string(v->get_int64()) == s->get_string();
  if (v->is_uint64()) return std::to_string(v->get_uint64()) == s->get_string();
  return false;
}

Status check_precondition(const Object& obj, const Object& stored) {
  if (!has_resource_version(obj) || same_resource_version(obj, stored)) return Status::Ok();
  return Status::Conflict("Operation cannot be fulfilled on " + quoted(stored) +
                          ": the object has been modified; please apply your changes to the "
                          "latest version and try again");
}

bool same_spec(const Object& a, const Object& b) {
  static const json::value kEmpty = json::object();
  const json::value* sa = a.json().if_contains("spec");
  const json::value* sb = b.json().if_contains("spec");
  return *(sa ? sa : &kEmpty) == *(sb ? sb : &kEmpty);
}

// Copies metadata[key] from `from` into `to`, or removes it from `to` when `from` has none.
void copy_meta(const Object& from, Object& to, std::string_view key) {
  const json::value* v = meta_field(from, key);
  if (v) {
    to.metadata()[key] = *v;
  } else if (to.metadata_or_null()) {
    to.metadata().erase(key);
  }
}

void copy_top(const Object& from, Object& to, std::string_view key) {
  const json::value* v = from.json().if_contains(key);
  if (v) {
    to.json()[key] = *v;
  } else {
    to.json().erase(key);
  }
}

// Finishes an update of `stored` into `next`: a no-op when only resourceVersion would change.
WriteOutcome finish_update(Object next, const Object& stored, int64_t revision) {
  copy_meta(stored, next, "resourceVersion");
  if (next == stored) return WriteOutcome{false, stored, EventType::kModified};
  next.set_resource_version(revision);
  return WriteOutcome{true, std::move(next), EventType::kModified};
}

Status not_found(const Object& obj) {
  return Status::NotFound(quoted(obj) + " not found" + in_namespace(obj));
}

}  // namespace

Result<WriteOutcome> apply_write(const Write& write, const Object* stored, int64_t revision,
                                 const Clock& clock, const UidGenerator& new_uid) {
  const Object& obj = write.object;
  if (obj.kind().empty()) {
    return Status::Invalid(
        "object \"" + std::string(obj.name()) + "\" is invalid: kind: Required value",
        {{"kind", "Required value"}});
  }
  if (obj.name().empty()) {
    return Status::Invalid(quoted(obj) + " is invalid: metadata.name: Required value",
                           {{"metadata.name", "Required value"}});
  }

  switch (write.op) {
    case WriteOp::kCreate: {
      if (stored) return Status::AlreadyExists(quoted(obj) + " already exists" + in_namespace(obj));
      if (has_resource_version(obj)) {
        return Status::Invalid(
            quoted(obj) +
                " is invalid: metadata.resourceVersion: resourceVersion should not be "
                "set on objects to be created",
            {{"metadata.resourceVersion", "must not be set on create"}});
      }
      Object next = obj;
      // uid, creationTimestamp and generation are kept when given (a store copied into
      // another, `cenv db start`); the API strips them from what users send.
      if (next.uid().empty()) next.set_uid(new_uid ? new_uid() : random_uuid_v4());
      const json::value* created = meta_field(next, "creationTimestamp");
      if (!created || !created->is_string() || created->get_string().empty()) {
        next.set_creation_timestamp(format_rfc3339(clock.now()));
      }
      if (next.generation() < 1) next.set_generation(1);
      next.set_resource_version(revision);
      return WriteOutcome{true, std::move(next), EventType::kAdded};
    }
    case WriteOp::kUpdate: {
      if (!stored) return not_found(obj);
      CENV_RETURN_IF_ERROR(check_precondition(obj, *stored));
      Object next = obj;
      copy_meta(*stored, next, "uid");
      copy_meta(*stored, next, "creationTimestamp");
      copy_top(*stored, next, "status");
      next.set_generation(stored->generation() + (same_spec(next, *stored) ? 0 : 1));
      return finish_update(std::move(next), *stored, revision);
    }
    case WriteOp::kUpdateStatus: {
      if (!stored) return not_found(obj);
      CENV_RETURN_IF_ERROR(check_precondition(obj, *stored));
      Object next = *stored;
      copy_top(obj, next, "status");
      return finish_update(std::move(next), *stored, revision);
    }
    case WriteOp::kDelete: {
      if (!stored) return not_found(obj);
      CENV_RETURN_IF_ERROR(check_precondition(obj, *stored));
      return WriteOutcome{true, *stored, EventType::kDeleted};
    }
  }
  return Status::Internal("unknown write operation");
}

}  // namespace cenv
