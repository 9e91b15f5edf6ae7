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

const char* log_stream_name(LogStream s) { return s == LogStream::kStderr ? "stderr" : "stdout"; }

int64_t LogSummary::bytes_of(int attempt, LogStream stream) const {
  for (const Part& p : parts) {
    if (p.attempt == attempt && p.stream == stream) return p.bytes;
  }
  return 0;
}

Status check_log_pieces(const std::string& uid, std::span<const LogPiece> pieces) {
  if (uid.empty()) return Status::Invalid("append_log: the object uid is empty");
  for (const LogPiece& p : pieces) {
    if (p.data.empty()) return Status::Invalid("append_log: empty chunk for " + uid);
    if (p.stream != LogStream::kStdout && p.stream != LogStream::kStderr) {
      return Status::Invalid("append_log: unknown stream for " + uid);
    }
    if (p.data.size() > kMaxLogChunkBytes) {
      return Status::Invalid("append_log: a chunk of " + std::to_string(p.data.size()) +
                             " bytes for " + uid + " is larger than the limit of " +
                             std::to_string(kMaxLogChunkBytes) + " bytes");
    }
  }
  return Status::Ok();
}

std::vector<LogPiece> split_log_pieces(std::span<const LogPiece> pieces) {
  std::vector<LogPiece> out;
  out.reserve(pieces.size());
  for (const LogPiece& p : pieces) {
    if (p.data.size() <= kMaxLogChunkBytes) {
      out.push_back(p);
      continue;
    }
    for (size_t at = 0; at < p.data.size(); at += kMaxLogChunkBytes) {
      out.push_back({p.stream, p.attempt, p.time, p.data.substr(at, kMaxLogChunkBytes)});
    }
  }
  return out;
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

Result<std::vector<std::optional<Object>>> Store::get_many(std::span<const ObjectKey> keys) {
  std::vector<std::optional<Object>> out;
  out.reserve(keys.size());
  for (const ObjectKey& key : keys) {
    auto obj = get(key);
    if (obj.ok()) {
      out.emplace_back(std::move(obj).value());
    } else if (obj.status().code() == Code::kNotFound) {
      out.emplace_back(std::nullopt);
    } else {
      return obj.status();
    }
  }
  return out;
}

Result<std::vector<std::optional<Object>>> Store::get_many_into(std::span<const ObjectKey> keys,
                                                                boost::json::storage_ptr) {
  return get_many(keys);
}

}  // namespace cenv
