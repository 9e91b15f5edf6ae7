#include "controller/store/store.h"

namespace cenv {

const char* event_type_name(EventType t) {
  switch (t) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

static Result<Object> commit_one(Store& store, WriteOp op, const Object& obj) {
  Write w{op, obj};
  auto r = store.commit(std::span<const Write>(&w, 1));
  if (!r.ok()) return r.status();
  return std::move(r.value().front());
}

Result<Object> Store::create(const Object& obj) { return commit_one(*this, WriteOp::kCreate, obj); }
Result<Object> Store::update(const Object& obj) { return commit_one(*this, WriteOp::kUpdate, obj); }
Result<Object> Store::update_status(const Object& obj) {
  return commit_one(*this, WriteOp::kUpdateStatus, obj);
}
Result<Object> Store::remove(const Object& obj) { return commit_one(*this, WriteOp::kDelete, obj); }

}  // namespace cenv
