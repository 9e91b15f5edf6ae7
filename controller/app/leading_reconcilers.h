#pragma once
// LeadingReconcilers: runs the ReconcilerSet only while this controller replica leads (DESIGN
// section 5). With a store that has a lease (PostgreSQL; several replicas may share it), a
// LeaderElector takes part in the election, and each term it leads runs a ReconcilerSet of its
// own whose Docker client is fenced by the term's lease generation (FencedDockerClient): once
// the term ends — the lease lost, not renewed in time, or this process frozen past it — no Docker
// change passes, even before the set has stopped. Every start and end of a term is an Event about
// the lease (kind Lease, name cenv-controller, in the namespace "default"; reasons
// LeaderElected, LeaderLost), with the replica's identity.
// Without a lease (SQLite: one controller per store) the set runs for the life of the process.

#include <memory>
#include <mutex>
#include <string>

#include "api/clock.h"
#include "api/status.h"
#include "controller/app/reconciler_set.h"
#include "controller/runtime/leader_elector.h"
#include "controller/runtime/steady_clock.h"
#include "controller/store/lease_store.h"

namespace cenv {

class LeadingReconcilers {
 public:
  // Starts the set at once when `leases` is nullptr (and fails as ReconcilerSet::start()), else
  // starts the election. `events` records the leadership events; every reference must outlive
  // this. Invalid for bad election options.
  static Result<std::unique_ptr<LeadingReconcilers>> start(
      LeaseStore* leases, LeaderElectionOptions election, ApiService& api, WatchHub& hub,
      DockerConnection& docker, const Clock& clock, ReconcilerSetOptions options,
      EventRecorder& events);
  ~LeadingReconcilers();  // stop()
  LeadingReconcilers(const LeadingReconcilers&) = delete;
  LeadingReconcilers& operator=(const LeadingReconcilers&) = delete;

  // Stops the set and leaves the election (releasing the lease). Idempotent.
  void stop();

  // Who leads: with an election, as the elector sees it; without one, this controller.
  Leadership leadership() const;
  // This replica's identity in the election ("" without one).
  std::string identity() const { return elector_ ? elector_->identity() : ""; }

 private:
  LeadingReconcilers(ApiService& api, WatchHub& hub, DockerConnection& docker, const Clock& clock,
                     ReconcilerSetOptions options, EventRecorder& events);
  void begin_term(int64_t generation);
  void end_term();
  void record(std::string_view reason, const std::string& message);

  ApiService& api_;
  WatchHub& hub_;
  DockerConnection& docker_;
  const Clock& clock_;
  const ReconcilerSetOptions options_;
  EventRecorder& events_;
  MonotonicClock steady_;

  std::mutex mu_;  // the term's parts (begin_term and end_term run on the elector's thread)
  std::unique_ptr<DockerConnection> fenced_;  // the term's Docker client
  std::unique_ptr<ReconcilerSet> set_;
  std::unique_ptr<LeaderElector> elector_;  // last: stopped first
};

}  // namespace cenv
