#include "controller/store/copy_store.h"

#include <utility>

namespace cenv {

namespace {

// The object as a create of it: without the resourceVersion the target store assigns (uid,
// creationTimestamp and generation are kept).
Object as_create(Object obj) {
  if (obj.metadata_or_null() != nullptr) obj.metadata().erase("resourceVersion");
  return obj;
}

}  // namespace

Result<CopyReport> copy_store(Store& from, Store& to, const std::vector<std::string>& kinds) {
  std::vector<Write> writes;
  CopyReport report;
  // Deletes first: one transaction may delete and re-create the same key.
  for (const auto& kind : kinds) {
    auto existing = to.list(ListOptions{.kind = kind, .ns = {}, .selector = {}});
    if (!existing.ok()) return existing.status().with_prefix("cannot list " + kind + " in the target");
    for (auto& obj : existing.value().items) {
      writes.push_back(Write{WriteOp::kDelete, std::move(obj)});
      ++report.removed;
    }
  }
  for (const auto& kind : kinds) {
    auto source = from.list(ListOptions{.kind = kind, .ns = {}, .selector = {}});
    if (!source.ok()) return source.status().with_prefix("cannot list " + kind + " in the source");
    for (auto& obj : source.value().items) {
      writes.push_back(Write{WriteOp::kCreate, as_create(std::move(obj))});
      ++report.copied;
    }
  }
  if (writes.empty()) return report;
  // A delete carrying the target's own resourceVersion is a precondition: a concurrent writer
  // makes the whole copy fail rather than be half-overwritten.
  auto committed = to.commit(writes);
  if (!committed.ok()) return committed.status().with_prefix("cannot write the target store");
  return report;
}

}  // namespace cenv
