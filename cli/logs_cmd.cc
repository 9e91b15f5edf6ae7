#include "cli/logs_cmd.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "api/grpc_status.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "cli/common.h"

namespace cenv::cli {

void StreamCanceller::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (ctx_) ctx_->TryCancel();
}

bool StreamCanceller::cancelled() {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void StreamCanceller::set_context(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  ctx_ = ctx;
  if (ctx_ && cancelled_) ctx_->TryCancel();
}

namespace {

// "2026-11-28T20:09:57.123456789Z ", as `docker logs --timestamps` prefixes lines.
std::string timestamp_prefix(int64_t unix_nano) {
  time_t secs = static_cast<time_t>(unix_nano / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09lldZ ", static_cast<long long>(unix_nano % 1000000000));
  return buf;
}

}  // namespace

Result<LogsEnd> stream_logs(ControllerClient& client, const LogsTarget& target, FILE* out,
                            FILE* err, StreamCanceller* canceller) {
  LogsEnd end;
  end.offset = target.since_bytes;
  // With --timestamps, each line gets a prefix; this remembers, per stream, whether the next
  // byte starts a line.
  bool line_start[2] = {true, true};
  // Only the first connection may start the local controller: after a drop the stream waits
  // for one to answer again (for a minute) and never undoes a `cenv controller stop`.
  if (auto hi = client.hello(); !hi.ok()) return hi.status();
  bool said_waiting = false;
  for (;;) {
    if (canceller && canceller->cancelled()) return end;
    auto stub = v1::Cenv::NewStub(client.channel());
    grpc::ClientContext ctx;
    v1::LogsRequest req;
    req.set_kind(target.kind);
    req.set_namespace_(target.ns);
    req.set_name(target.name);
    req.set_follow(target.follow);
    req.set_since_bytes(end.offset);
    req.set_timestamps(target.timestamps);
    if (canceller) canceller->set_context(&ctx);
    auto reader = stub->Logs(&ctx, req);
    v1::LogFrame frame;
    while (reader->Read(&frame)) {
      if (frame.end()) {
        end.ended = true;
        end.exit_code = frame.exit_code();
        end.phase = frame.phase();
        continue;
      }
      // A resumed stream starts where we asked; never write a byte twice.
      if (frame.offset() + static_cast<int64_t>(frame.data().size()) <= end.offset) continue;
      std::string_view data = frame.data();
      if (frame.offset() < end.offset) data.remove_prefix(end.offset - frame.offset());
      const bool is_err = frame.stream() == "stderr";
      FILE* to = is_err ? err : out;
      if (target.timestamps) {
        bool& at_start = line_start[is_err ? 1 : 0];
        const std::string prefix = timestamp_prefix(frame.timestamp_unix_nano());
        size_t pos = 0;
        while (pos < data.size()) {
          if (at_start) fwrite(prefix.data(), 1, prefix.size(), to);
          size_t nl = data.find('\n', pos);
          size_t stop = nl == std::string_view::npos ? data.size() : nl + 1;
          fwrite(data.data() + pos, 1, stop - pos, to);
          at_start = nl != std::string_view::npos;
          pos = stop;
        }
      } else {
        fwrite(data.data(), 1, data.size(), to);
      }
      fflush(to);
      end.offset += static_cast<int64_t>(data.size());
    }
    grpc::Status s = reader->Finish();
    if (canceller) canceller->set_context(nullptr);
    if (canceller && canceller->cancelled()) return end;
    if (s.ok() && (end.ended || !target.follow)) return end;
    const bool dropped = s.ok() || s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         s.error_code() == grpc::StatusCode::CANCELLED;
    if (!dropped || !target.follow) return from_grpc(s);
    // The controller went away (a restart): resume from our offset once one answers.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CENV_RETURN_IF_ERROR(client.await_controller(
        std::chrono::system_clock::now() + std::chrono::seconds(60), said_waiting,
        [canceller] { return canceller && canceller->cancelled(); }));
  }
}

int run_logs(const Context& context, const std::string& ns, const LogsFlags& flags) {
  if (flags.since_bytes < 0) {
    print_error(Status::Invalid("--since-bytes must not be negative"), false);
    return 1;
  }
  LogsTarget target;
  if (flags.args.size() == 1 && flags.args[0].find('/') == std::string::npos) {
    target.kind = "CommandRun";  // a bare name is a CommandRun, as kubectl's is a pod
    target.name = flags.args[0];
  } else {
    auto refs = resolve_refs(flags.args);
    if (!refs.ok()) {
      print_error(refs.status(), false);
      return 1;
    }
    if (refs->size() != 1) {
      print_error(Status::Invalid("logs takes one object: cr/NAME or svc/NAME"), false);
      return 1;
    }
    target.kind = refs->front().kind->kind;
    target.name = refs->front().name;
  }
  target.ns = ns.empty() ? "default" : ns;
  target.follow = flags.follow;
  target.since_bytes = flags.since_bytes;
  target.timestamps = flags.timestamps;
  auto client = context.connect();
  auto end = stream_logs(*client, target, stdout, stderr, nullptr);
  if (!end.ok()) {
    print_error(end.status());
    return 1;
  }
  return 0;
}

}  // namespace cenv::cli
