// watch_fanout: commit-to-delivery latency of Watch with many watchers (run by
// bench/watch_fanout.sh). Connects to a running controller over its unix socket, opens
// --watchers concurrent Watch streams on kind Event in one namespace, then writes --updates
// updates of one Event (Update RPC, one label changed each time: bench-seq=N) one after the
// other. Each write carries its send time in an annotation; every event is timestamped as soon
// as its message comes out of the reading thread's completion queue (every event of a batched
// message, WatchEvent.more, gets the time its message arrived; --no-batches asks for one event
// per message). The watches are read asynchronously by --reader-threads threads (default 1). Checks
// that every watcher saw every update exactly once, in order, with the revision the write returned;
// prints the latency distribution.
//
// Latencies, per (watcher, update):
//   send->delivery    receipt minus the time just before the Update call: an upper bound on
//                     commit-to-delivery (includes the write's own latency)
//   return->delivery  receipt minus the time the Update call returned: a lower bound (negative
//                     when the event arrives before the write's response)
// Exit status: 0 when every event arrived in order, 1 otherwise, 2 on setup errors.

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/limits.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "cli/home.h"

namespace {

namespace json = boost::json;
namespace v1 = cenv::v1;
using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Options {
  int watchers = 100;       // concurrent Watch streams (default 100)
  int updates = 1000;       // sequential updates of the probe object (default 1,000)
  int channels = 0;         // gRPC connections the watchers share; 0: one each (default)
  int interval_us = 0;      // pause between two writes; 0: back to back (default)
  int timeout_s = 120;      // give up waiting for events after this long (default 120 s)
  bool no_batches = false;  // ask for one event per message (allow_batches off; default: on)
  int reader_threads = 1;   // threads reading the watches, each with a completion queue
  std::string ns = "benchwatch";
  std::string socket;        // default: $CENV_HOME/run/controller.sock
  std::string write_socket;  // the writer's controller; default: `socket` (another replica's:
                             // delivery across controller replicas sharing a store)
  std::string timeline;      // a CSV of each update's times, for finding stalls; empty: none
};

// One event as a watcher received it; its JSON is parsed after the run, so that the
// measuring client spends as little CPU as it can while the controller works.
struct Received {
  std::string json;  // the event's object
  int64_t recv_ns;   // steady clock when the completion queue handed the message over
};

// A completion-queue tag: which watcher, which operation.
enum class Op { kStarted, kRead, kFinished };
struct Tag {
  size_t index;
  Op op;
};

// One Watch stream, driven by the reader thread that owns its completion queue.
struct Watcher {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientAsyncReader<v1::WatchEvent>> reader;
  v1::WatchEvent message;        // the message being read
  grpc::Status status;           // the stream's end, once finished
  std::vector<Received> events;  // MODIFIED events only
  int64_t messages = 0;          // messages that carried updates (a batch counts once)
  bool ready = false;            // its first BOOKMARK arrived (the watch is registered)
  bool finishing = false;        // Finish was requested
  std::string error;             // a broken stream
  Tag started{0, Op::kStarted}, read{0, Op::kRead}, finished{0, Op::kFinished};  // index set
};

std::shared_ptr<grpc::Channel> make_channel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A private subchannel pool and a distinct argument: a separate connection per channel, as
  // separate `cenv get -w` processes would have.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("cenv.bench.channel", index);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

int64_t rv_of(const json::object& o) {
  const auto& md = o.at("metadata").as_object();
  const auto* rv = md.if_contains("resourceVersion");
  if (!rv) return 0;
  if (rv->is_string()) return std::stoll(std::string(rv->as_string()));
  return rv->to_number<int64_t>();
}

// Nearest-rank percentile of sorted `v` (p in [0, 100]).
double percentile(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void print_row(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%-22s %9.3f %9.3f %9.3f %9.3f %9.3f %9zu\n", what, percentile(v, 0),
              percentile(v, 50), percentile(v, 99), percentile(v, 99.9), v.empty() ? 0.0 : v.back(),
              v.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Watch fan-out latency: N watchers, M sequential updates of one Event."};
  app.add_option("--watchers", opt.watchers, "concurrent Watch streams")->capture_default_str();
  app.add_option("--updates", opt.updates, "updates to write")->capture_default_str();
  app.add_option("--channels", opt.channels, "gRPC connections (0: one per watcher)")
      ->capture_default_str();
  app.add_option("--interval-us", opt.interval_us, "pause between writes (µs)")
      ->capture_default_str();
  app.add_option("--timeout", opt.timeout_s, "seconds to wait for events")->capture_default_str();
  app.add_option("-n,--namespace", opt.ns, "namespace (Environment) to use")->capture_default_str();
  app.add_option("--socket", opt.socket, "controller socket (default: $CENV_HOME's)");
  app.add_option("--write-socket", opt.write_socket,
                 "socket of the controller the writes go to (default: --socket); another "
                 "replica on the same store measures delivery across replicas");
  app.add_option("--timeline", opt.timeline,
                 "write each update's times to this CSV (seq, sent, returned, first and last "
                 "delivery; ms since the first send)");
  app.add_option("--reader-threads", opt.reader_threads,
                 "threads reading the watch streams (each with its own completion queue)")
      ->capture_default_str();
  app.add_flag("--no-batches", opt.no_batches,
               "one event per message (without WatchRequest.allow_batches)");
  CLI11_PARSE(app, argc, argv);
  // As the controller does (GrpcServer::start): Debian's absl keeps mutex deadlock detection on,
  // which costs every lock gRPC takes a walk of a process-wide graph (3.5 % of this client's
  // CPU, measured with perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (opt.socket.empty()) opt.socket = cenv::cli::Home::from_env().socket().string();
  const std::string target = "unix:" + opt.socket;
  const int nchannels = opt.channels <= 0 ? opt.watchers : std::min(opt.channels, opt.watchers);

  auto writer_channel =
      make_channel(opt.write_socket.empty() ? target : "unix:" + opt.write_socket, -1);
  auto writer = v1::Cenv::NewStub(writer_channel);
  auto deadline = [](int seconds) {
    return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  };

  // The namespace and the probe Service.
  v1::ApplyRequest apply;
  apply.set_field_manager("bench-watch");
  json::object env{{"apiVersion", "cenv.io/v1"},
                   {"kind", "Environment"},
                   {"metadata", {{"name", opt.ns}}},
                   {"spec", {{"baseImage", "cenv/base:bookworm"}}}};
  // The probe is an Event: no controller writes to Events, so every change the watchers see
  // is one of ours (a Service would also get its reconciler's status and finalizer writes).
  json::object probe{
      {"apiVersion", "cenv.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", "probe"}, {"namespace", opt.ns}, {"labels", {{"bench-seq", "0"}}}}},
      {"involvedObject", {{"kind", "Environment"}, {"name", opt.ns}}},
      {"reason", "BenchProbe"},
      {"message", "watch fan-out probe"},
      {"type", "Normal"}};
  apply.add_objects()->set_json(json::serialize(env));
  apply.add_objects()->set_json(json::serialize(probe));
  v1::ApplyResponse applied;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline(30));
    grpc::Status s = writer->Apply(&ctx, apply, &applied);
    if (!s.ok()) {
      std::cerr << "error: apply of the probe failed: " << s.error_message() << "\n";
      return 2;
    }
  }
  json::object object = json::parse(applied.results(1).json()).as_object();

  // Watchers: each waits for its initial BOOKMARK (the stream is registered by then). They
  // are read by --reader-threads threads, each with a completion queue of its own: a reader
  // thread polls its streams' connections itself, so a message reaches it without a thread
  // hand-off (a blocking Read() per thread, as before, cost the 100 watchers more CPU than the
  // controller spent serving them, on the same two cores).
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::Cenv::Stub>> stubs;
  for (int i = 0; i < nchannels; ++i) {
    channels.push_back(make_channel(target, i));
    stubs.push_back(v1::Cenv::NewStub(channels.back()));
  }
  const size_t nreaders = static_cast<size_t>(std::clamp(opt.reader_threads, 1, opt.watchers));
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (size_t r = 0; r < nreaders; ++r) queues.push_back(std::make_unique<grpc::CompletionQueue>());
  std::mutex mu;
  std::condition_variable cv;
  int ready = 0;     // guarded by mu
  int finished = 0;  // guarded by mu
  std::vector<Watcher> watchers(static_cast<size_t>(opt.watchers));
  const size_t wanted = static_cast<size_t>(opt.updates);
  auto count = [&](int& counter) {
    std::lock_guard lock(mu);
    ++counter;
    cv.notify_all();
  };
  // Runs on the watcher's reader thread only.
  auto finish = [&](Watcher& w) {
    if (w.finishing) return;
    w.finishing = true;
    w.ctx.TryCancel();
    w.reader->Finish(&w.status, &w.finished);
  };
  auto read_loop = [&](size_t r) {
    grpc::CompletionQueue& cq = *queues[r];
    size_t mine = 0, done = 0;
    for (size_t i = r; i < watchers.size(); i += nreaders) ++mine;
    void* tag = nullptr;
    bool ok = false;
    while (done < mine && cq.Next(&tag, &ok)) {
      int64_t t = now_ns();  // every event of a batched message arrived now
      const Tag& what = *static_cast<const Tag*>(tag);
      size_t i = what.index;
      Watcher& w = watchers[i];
      switch (what.op) {
        case Op::kStarted:
          if (ok) {
            w.reader->Read(&w.message, &w.read);
          } else {
            finish(w);
          }
          break;
        case Op::kRead: {
          if (!ok) {
            finish(w);
            break;
          }
          size_t before = w.events.size();
          auto receive = [&](v1::WatchEvent& e) {
            if (e.type() == "BOOKMARK") {
              if (!w.ready) {
                w.ready = true;
                count(ready);
              }
            } else if (e.type() == "MODIFIED") {  // not the probe's initial ADDED
              w.events.push_back({std::move(*e.mutable_json()), t});
            }
          };
          receive(w.message);
          for (auto& e : *w.message.mutable_more()) receive(e);
          if (w.events.size() > before) ++w.messages;
          if (w.events.size() >= wanted) {
            finish(w);
          } else {
            w.reader->Read(&w.message, &w.read);
          }
          break;
        }
        case Op::kFinished:
          if (w.events.size() < wanted && !w.status.ok() &&
              w.status.error_code() != grpc::StatusCode::CANCELLED) {
            w.error = w.status.error_message();
          }
          if (!w.ready) count(ready);  // never got going: do not hold the writer up
          count(finished);
          ++done;
          break;
      }
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  };
  for (int i = 0; i < opt.watchers; ++i) {
    Watcher& w = watchers[static_cast<size_t>(i)];
    w.events.reserve(wanted);
    w.started.index = w.read.index = w.finished.index = static_cast<size_t>(i);
    v1::WatchRequest req;
    req.set_kind("Event");
    req.set_namespace_(opt.ns);
    req.set_allow_bookmarks(true);
    req.set_allow_batches(!opt.no_batches);
    // Each watcher stands for a `cenv get -w` process of its own (kMaxWatchesPerClient).
    w.ctx.AddMetadata(cenv::kClientMetadataKey, "watch_fanout-" + std::to_string(i));
    w.reader = stubs[static_cast<size_t>(i % nchannels)]->AsyncWatch(
        &w.ctx, req, queues[static_cast<size_t>(i) % nreaders].get(), &w.started);
  }
  std::vector<std::thread> readers;
  for (size_t r = 0; r < nreaders; ++r) readers.emplace_back(read_loop, r);
  // Cancels every watch (each then finishes on its reader thread) and waits for the readers.
  auto stop_readers = [&] {
    for (auto& w : watchers) w.ctx.TryCancel();
    for (auto& t : readers) t.join();
  };
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return ready == opt.watchers; })) {
      std::cerr << "error: only " << ready << " of " << opt.watchers << " watches started\n";
      lock.unlock();
      stop_readers();
      return 2;
    }
  }

  // Sequential writes.
  std::vector<int64_t> sent(static_cast<size_t>(opt.updates) + 1);
  std::vector<int64_t> returned(static_cast<size_t>(opt.updates) + 1);
  std::vector<int64_t> written_rv(static_cast<size_t>(opt.updates) + 1);
  int64_t rv = rv_of(object);
  auto& metadata = object["metadata"].as_object();
  auto& labels = metadata["labels"].as_object();
  for (int i = 1; i <= opt.updates; ++i) {
    labels["bench-seq"] = std::to_string(i);
    metadata["resourceVersion"] = std::to_string(rv);
    v1::WriteRequest req;
    req.set_field_manager("bench-watch");
    int64_t t0 = now_ns();
    metadata["annotations"] = json::object{{"bench/sent-ns", std::to_string(t0)}};
    req.set_json(json::serialize(object));
    v1::ObjectResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline(30));
    grpc::Status s = writer->Update(&ctx, req, &resp);
    int64_t t1 = now_ns();
    if (!s.ok()) {
      std::cerr << "error: update " << i << " failed: " << s.error_message() << "\n";
      stop_readers();
      return 2;
    }
    sent[static_cast<size_t>(i)] = t0;
    returned[static_cast<size_t>(i)] = t1;
    rv = rv_of(json::parse(resp.json()).as_object());
    written_rv[static_cast<size_t>(i)] = rv;
    if (opt.interval_us > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(opt.interval_us));
  }
  int64_t writes_done = now_ns();
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(opt.timeout_s),
                [&] { return finished == opt.watchers; });
  }
  stop_readers();

  // Checks and latencies.
  std::vector<double> send_to_recv, return_to_recv, write_ms, spread_ms;
  send_to_recv.reserve(static_cast<size_t>(opt.watchers) * static_cast<size_t>(opt.updates));
  return_to_recv.reserve(send_to_recv.capacity());
  int64_t missing = 0, duplicates = 0, out_of_order = 0, wrong_rv = 0, foreign = 0;
  int64_t complete_watchers = 0;
  int64_t messages = 0;  // messages that carried updates, over all watchers
  std::vector<int64_t> first_recv(static_cast<size_t>(opt.updates) + 1, INT64_MAX);
  std::vector<int64_t> last_recv(static_cast<size_t>(opt.updates) + 1, 0);
  for (const Watcher& w : watchers) {
    std::vector<int> seen(static_cast<size_t>(opt.updates) + 1, 0);
    int64_t prev = 0;
    for (const Received& r : w.events) {
      json::object o = json::parse(r.json).as_object();
      const auto& labels = o.at("metadata").as_object().at("labels").as_object();
      const auto* label = labels.if_contains("bench-seq");
      const int64_t seq = label ? std::stoll(std::string(label->as_string())) : -1;
      if (seq < 1 || seq > opt.updates) {
        ++foreign;
        continue;
      }
      size_t k = static_cast<size_t>(seq);
      if (seen[k]++) {
        ++duplicates;
        continue;
      }
      if (seq != prev + 1) ++out_of_order;
      prev = seq;
      if (rv_of(o) != written_rv[k]) ++wrong_rv;
      send_to_recv.push_back(static_cast<double>(r.recv_ns - sent[k]) / 1e6);
      return_to_recv.push_back(static_cast<double>(r.recv_ns - returned[k]) / 1e6);
      first_recv[k] = std::min(first_recv[k], r.recv_ns);
      last_recv[k] = std::max(last_recv[k], r.recv_ns);
    }
    int64_t got = 0;
    for (size_t k = 1; k < seen.size(); ++k) got += seen[k] ? 1 : 0;
    missing += opt.updates - got;
    if (got == opt.updates) ++complete_watchers;
    if (!w.error.empty()) std::cerr << "watcher error: " << w.error << "\n";
    messages += w.messages;
  }
  for (size_t k = 1; k <= static_cast<size_t>(opt.updates); ++k) {
    write_ms.push_back(static_cast<double>(returned[k] - sent[k]) / 1e6);
    if (last_recv[k] > 0)
      spread_ms.push_back(static_cast<double>(last_recv[k] - first_recv[k]) / 1e6);
  }
  double write_s = static_cast<double>(returned.back() - sent[1]) / 1e9;
  if (!opt.timeline.empty()) {
    FILE* f = std::fopen(opt.timeline.c_str(), "w");
    if (!f) {
      std::cerr << "error: cannot write " << opt.timeline << "\n";
      return 2;
    }
    std::fprintf(f, "seq,sent_ms,returned_ms,first_delivery_ms,last_delivery_ms\n");
    auto ms = [&](int64_t t) { return t > 0 ? static_cast<double>(t - sent[1]) / 1e6 : -1.0; };
    for (size_t k = 1; k <= static_cast<size_t>(opt.updates); ++k) {
      std::fprintf(f, "%zu,%.3f,%.3f,%.3f,%.3f\n", k, ms(sent[k]), ms(returned[k]),
                   first_recv[k] == INT64_MAX ? -1.0 : ms(first_recv[k]), ms(last_recv[k]));
    }
    std::fclose(f);
  }

  std::printf("watchers %d on %d connection(s), updates %d (%.0f writes/s over %.2f s)\n",
              opt.watchers, nchannels, opt.updates, opt.updates / write_s, write_s);
  std::printf("%-22s %9s %9s %9s %9s %9s %9s\n", "ms", "min", "p50", "p99", "p99.9", "max",
              "samples");
  print_row("send->delivery", send_to_recv);
  print_row("return->delivery", return_to_recv);
  print_row("write (Update RPC)", write_ms);
  print_row("fan-out spread", spread_ms);
  std::printf("messages: %lld carried the %zu updates received (%.2f events per message)\n",
              static_cast<long long>(messages), send_to_recv.size(),
              messages > 0
                  ? static_cast<double>(send_to_recv.size()) / static_cast<double>(messages)
                  : 0.0);
  std::printf(
      "checks: %lld/%d watchers complete, missing %lld, duplicates %lld, out of order %lld, "
      "wrong resourceVersion %lld, unexpected %lld; drained %.1f ms after the last write\n",
      static_cast<long long>(complete_watchers), opt.watchers, static_cast<long long>(missing),
      static_cast<long long>(duplicates), static_cast<long long>(out_of_order),
      static_cast<long long>(wrong_rv), static_cast<long long>(foreign), [&] {
        int64_t last = 0;
        for (int64_t t : last_recv) last = std::max(last, t);
        return static_cast<double>(last - writes_done) / 1e6;
      }());
  std::sort(send_to_recv.begin(), send_to_recv.end());
  std::sort(return_to_recv.begin(), return_to_recv.end());
  std::printf("RESULT p50_ms=%.3f p99_ms=%.3f max_ms=%.3f ret_p50_ms=%.3f ret_p99_ms=%.3f\n",
              percentile(send_to_recv, 50), percentile(send_to_recv, 99),
              send_to_recv.empty() ? 0.0 : send_to_recv.back(), percentile(return_to_recv, 50),
              percentile(return_to_recv, 99));
  bool ok = complete_watchers == opt.watchers && missing == 0 && duplicates == 0 &&
            out_of_order == 0 && wrong_rv == 0;
  std::printf("%s\n", ok ? "every watcher got every event once, in order"
                         : "FAILED: events lost, repeated or out of order");
  return ok ? 0 : 1;
}
