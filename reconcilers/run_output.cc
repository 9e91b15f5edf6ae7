#include "reconcilers/run_output.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace cenv {

Result<StoredOutput> stored_output(Store& store, const std::string& uid, int attempt) {
  auto summary = store.log_summary(uid);
  if (!summary.ok()) return summary.status();
  return StoredOutput{summary->bytes_of(attempt, LogStream::kStdout),
                      summary->bytes_of(attempt, LogStream::kStderr)};
}

RunOutput::RunOutput(LogHub& hub, std::string uid, int attempt, int64_t skip_stdout,
                     int64_t skip_stderr, const Clock& clock, RunOutputOptions options)
    : hub_(hub), uid_(std::move(uid)), attempt_(attempt), clock_(clock), options_(options) {
  skip_[0] = skip_stdout;
  skip_[1] = skip_stderr;
  writer_ = std::thread([this] { run(); });
}

RunOutput::~RunOutput() {
  abandon();
  if (writer_.joinable()) writer_.join();
}

bool RunOutput::write(LogStream stream, std::string_view bytes) {
  std::unique_lock lock(mu_);
  int64_t& skip = skip_[stream == LogStream::kStderr ? 1 : 0];
  if (skip > 0) {
    size_t n = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(bytes.size())));
    bytes.remove_prefix(n);
    skip -= static_cast<int64_t>(n);
  }
  while (!bytes.empty()) {
    changed_.wait(lock, [&] {
      return abandoned_ || !failure_.ok() || queued_bytes_ < options_.buffer_bytes;
    });
    if (abandoned_ || !failure_.ok() || closing_) return false;
    size_t room = options_.buffer_bytes - queued_bytes_;
    std::string_view part = bytes.substr(0, room);
    bytes.remove_prefix(part.size());
    // Counts queued and in-flight bytes: the writer subtracts a batch once it is stored.
    queued_bytes_ += part.size();
    // Merge with the previous piece of the same stream while it stays below a chunk.
    if (!queue_.empty() && queue_.back().stream == stream &&
        queue_.back().data.size() + part.size() <= options_.chunk_bytes) {
      queue_.back().data.append(part);
    } else {
      while (!part.empty()) {
        std::string_view piece = part.substr(0, options_.chunk_bytes);
        part.remove_prefix(piece.size());
        queue_.push_back({stream, clock_.now(), std::string(piece)});
      }
    }
    changed_.notify_all();
  }
  return true;
}

void RunOutput::run() {
  std::vector<LogPiece> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return abandoned_ || closing_ || !queue_.empty(); });
      if (abandoned_ || (queue_.empty() && closing_)) break;
      batch.clear();
      // Everything queued now goes in one append (bounded by buffer_bytes).
      for (Piece& p : queue_) {
        batch.push_back({p.stream, attempt_, p.time, std::move(p.data)});
      }
      queue_.clear();
    }
    size_t batch_bytes = 0;
    for (const LogPiece& p : batch) batch_bytes += p.data.size();
    for (;;) {
      auto r = hub_.append(uid_, batch);
      std::unique_lock lock(mu_);
      if (r.ok()) {
        log_bytes_ = *r;
        queued_bytes_ -= std::min(queued_bytes_, batch_bytes);
        break;
      }
      if (r.status().code() != Code::kUnavailable) {
        spdlog::error("CommandRun {}: cannot store output: {}", uid_, r.status().message());
        failure_ = r.status();
        writer_done_ = true;
        changed_.notify_all();
        return;
      }
      // The store is busy or away for a moment: wait and try again; the queue stays full
      // meanwhile, so the producer waits too.
      if (changed_.wait_for(lock, options_.retry_delay, [&] { return abandoned_; })) {
        writer_done_ = true;
        changed_.notify_all();
        return;
      }
    }
    changed_.notify_all();
  }
  std::lock_guard lock(mu_);
  writer_done_ = true;
  changed_.notify_all();
}

Status RunOutput::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(mu_);
  return failure_;
}

void RunOutput::abandon() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
  }
  changed_.notify_all();
}

int64_t RunOutput::log_bytes() {
  std::lock_guard lock(mu_);
  return log_bytes_;
}

}  // namespace cenv
