#include "controller/store/copy_store.h"

#include <utility>

namespace cenv {

namespace {

constexpr size_t kLogBatchBytes = size_t{4} << 20;

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
    if (!existing.ok())
      return existing.status().with_prefix("cannot list " + kind + " in the target");
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
  // Module source archives first (content-addressed: one the target has is the same), so
  // that every copied Module's spec.source.digest names an archive the target holds.
  auto digests = from.list_archives();
  if (!digests.ok()) return digests.status().with_prefix("cannot list the source's archives");
  for (const std::string& digest : digests.value()) {
    auto present = to.has_archive(digest);
    if (!present.ok()) return present.status().with_prefix("cannot read the target's archives");
    if (present.value()) continue;
    auto bytes = from.get_archive(digest);
    if (!bytes.ok()) return bytes.status().with_prefix("cannot read the source's archives");
    CENV_RETURN_IF_ERROR(to.put_archive(digest, bytes.value()));
    ++report.archives;
  }
  if (writes.empty()) return report;
  // A delete carrying the target's own resourceVersion is a precondition: a concurrent writer
  // makes the whole copy fail rather than be half-overwritten. Deleting an object deletes its
  // log with it.
  auto committed = to.commit(writes);
  if (!committed.ok()) return committed.status().with_prefix("cannot write the target store");
  // CommandRun output, chunk by chunk with its stream, attempt and time, a few MiB at a time.
  // The results follow the writes: the deletes, then the created objects.
  for (size_t i = report.removed; i < committed.value().size(); ++i) {
    const Object& obj = committed.value()[i];
    if (obj.kind() != "CommandRun" || obj.uid().empty()) continue;
    std::string uid(obj.uid());
    int64_t offset = 0;
    for (;;) {
      auto chunks = from.read_log(uid, offset, kLogBatchBytes);
      if (!chunks.ok()) return chunks.status().with_prefix("cannot read the log of " + uid);
      if (chunks.value().empty()) break;
      std::vector<LogPiece> pieces;
      pieces.reserve(chunks.value().size());
      for (LogChunk& c : chunks.value()) {
        offset = c.end();
        pieces.push_back(LogPiece{c.stream, c.attempt, c.time, std::move(c.data)});
      }
      // A chunk stored before kMaxLogChunkBytes bounded them is split.
      auto appended = to.append_log(uid, split_log_pieces(pieces));
      if (!appended.ok()) return appended.status().with_prefix("cannot write the log of " + uid);
    }
    report.log_bytes += static_cast<size_t>(offset);
  }
  return report;
}

}  // namespace cenv
