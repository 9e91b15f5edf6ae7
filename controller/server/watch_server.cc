#include "controller/server/watch_server.h"

#include <grpc/grpc_security_constants.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace cenv {

namespace {

gpr_timespec after(std::chrono::milliseconds d) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(static_cast<int64_t>(d.count()), GPR_TIMESPAN));
}

grpc::Status stopping_status() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is stopping");
}

// Who a call comes from, for kMaxWatchesPerClient. Over TLS the user its certificate names
// (CN): a client cannot pass the limit by opening more connections or by sending other
// metadata. On the unix socket, whose caller is the machine's owner, its peer and the
// kClientMetadataKey it sent (the CLI sends its pid): one process's watches.
std::string client_of(const grpc::ServerContext& ctx) {
  if (auto auth = ctx.auth_context(); auth && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
      return "user " + std::string(cn.data(), cn.size());
    }
  }
  std::string client = ctx.peer();
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find(kClientMetadataKey);
  if (it != metadata.end()) {
    client += " (" + std::string(kClientMetadataKey) + " ";
    client.append(it->second.data(), it->second.size());
    client += ")";
  }
  return client;
}

}  // namespace

WatchServer::WatchServer(ApiService& api, WatchHub& hub, WatchStreamOptions options,
                         Requester request, std::unique_ptr<grpc::ServerCompletionQueue> cq,
                         size_t max_watches_per_client)
    : api_(api),
      hub_(hub),
      options_(std::move(options)),
      request_(std::move(request)),
      cq_(std::move(cq)),
      // Often enough for a bookmark to be at most a quarter interval late.
      tick_period_(
          std::max(std::chrono::milliseconds(10),
                   std::min(std::chrono::milliseconds(250), options_.bookmark_interval / 4))),
      max_watches_per_client_(max_watches_per_client) {
  mailbox_->cq = cq_.get();
  starter_ = std::jthread([this](std::stop_token stop) { run_starter(stop); });
  thread_ = std::thread([this] { run(); });
}

WatchServer::~WatchServer() { stop(); }

void WatchServer::Mailbox::arm_locked() {
  if (armed || !cq) return;
  armed = true;
  // A deadline in the past fires at once, on this thread (a deadline of now is rounded up to
  // the next millisecond and fired by gRPC's timer thread: one more thread hop and up to 1 ms).
  alarm.Set(cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), &tag);
}

void WatchServer::end_watches() {
  std::lock_guard lock(mailbox_->mu);
  mailbox_->ending = true;
  mailbox_->arm_locked();
}

void WatchServer::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (!thread_.joinable()) return;
  mailbox_->stopping = true;
  end_watches();  // wakes the serving thread, which sees both
  thread_.join();
  starter_.request_stop();
  if (starter_.joinable()) starter_.join();
}

void WatchServer::request_next() {
  auto stream = std::make_shared<WatchStream>(
      api_, hub_, options_,
      [mailbox = std::weak_ptr<Mailbox>(mailbox_)](std::shared_ptr<WatchStream> s) {
        auto box = mailbox.lock();
        if (!box) return;
        std::lock_guard lock(box->mu);
        if (!box->cq) return;  // the serving thread is gone, and the stream with it
        box->ready.push_back(std::move(s));
        box->arm_locked();
      });
  WatchStream* raw = stream.get();
  streams_.emplace(raw, std::move(stream));
  raw->context().AsyncNotifyWhenDone(raw->tag(Op::kDone));
  request_(&raw->context(), &raw->request(), &raw->writer(), cq_.get(), raw->tag(Op::kRequested));
}

bool WatchServer::admit(WatchStream* stream) {
  std::string client = client_of(stream->context());
  size_t& open = watches_of_[client];
  if (open >= max_watches_per_client_) {
    stream->end(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "too many watches: " + client + " has " + std::to_string(open) +
                                 " open, the limit per client is " +
                                 std::to_string(max_watches_per_client_)));
    return false;
  }
  ++open;
  client_of_.emplace(stream, std::move(client));
  return true;
}

void WatchServer::release(WatchStream* stream) {
  auto it = client_of_.find(stream);
  if (it == client_of_.end()) return;
  auto count = watches_of_.find(it->second);
  if (--count->second == 0) watches_of_.erase(count);
  client_of_.erase(it);
}

void WatchServer::run_starter(std::stop_token stop) {
  pthread_setname_np(pthread_self(), "cenv-watch-init");
  for (;;) {
    std::shared_ptr<WatchStream> stream;
    {
      std::unique_lock lock(start_mu_);
      start_cv_.wait(lock, stop, [&] { return !to_start_.empty(); });
      if (stop.stop_requested()) return;
      stream = std::move(to_start_.front());
      to_start_.pop_front();
    }
    stream->begin();
  }
}

void WatchServer::run() {
  pthread_setname_np(pthread_self(), "cenv-watch");
  request_next();
  tick_alarm_.Set(cq_.get(), after(tick_period_), &tick_tag_);
  tick_armed_ = true;
  bool ended = false;  // every stream was told to end (end_watches)
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) {
    auto* t = static_cast<WatchStream::Tag*>(tag);
    WatchStream* stream = t->stream;
    if (!stream && t->op == Op::kTick) {
      tick_armed_ = false;
      auto now = std::chrono::steady_clock::now();
      for (auto& entry : streams_) entry.second->tick(now);
      if (!mailbox_->ending) {
        tick_alarm_.Set(cq_.get(), after(tick_period_), &tick_tag_);
        tick_armed_ = true;
      }
    } else if (!stream) {  // kWake
      std::vector<std::shared_ptr<WatchStream>> ready;
      {
        std::lock_guard lock(mailbox_->mu);
        mailbox_->armed = false;
        ready.swap(mailbox_->ready);
      }
      for (const auto& s : ready) s->pump();
    } else {
      switch (t->op) {
        case Op::kRequested:
          if (!ok) {
            stream->set_never_matched();  // the server is shutting down
            break;
          }
          stream->matched();
          if (mailbox_->ending) {
            stream->end(stopping_status());
          } else {
            request_next();
            if (!admit(stream)) break;
            std::lock_guard lock(start_mu_);
            to_start_.push_back(streams_.at(stream));
            start_cv_.notify_one();
          }
          break;
        case Op::kWrite:
          stream->on_write_done(ok);
          break;
        case Op::kFinish:
          stream->on_finish_done();
          break;
        case Op::kDone:
          stream->on_call_done();
          break;
        default:
          break;
      }
      if (stream->complete()) {
        release(stream);
        streams_.erase(stream);
      }
    }
    if (mailbox_->ending && !ended) {
      ended = true;
      for (auto& entry : streams_) entry.second->end(stopping_status());
      if (tick_armed_) tick_alarm_.Cancel();
    }
    // The queue shuts down once every call is over and nothing else is in flight; Next()
    // then returns what is left and false.
    if (mailbox_->stopping && !tick_armed_) {
      bool calls_over = std::all_of(streams_.begin(), streams_.end(),
                                    [](const auto& e) { return e.second->never_matched(); });
      std::lock_guard lock(mailbox_->mu);
      if (calls_over && !mailbox_->armed && mailbox_->cq) {
        mailbox_->cq = nullptr;
        cq_->Shutdown();
      }
    }
  }
  std::vector<std::shared_ptr<WatchStream>> ready;
  {
    std::lock_guard lock(mailbox_->mu);
    ready.swap(mailbox_->ready);
  }
  streams_.clear();
}

}  // namespace cenv
