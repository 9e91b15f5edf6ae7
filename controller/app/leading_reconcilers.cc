#include "controller/app/leading_reconcilers.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "controller/docker/fenced_docker_client.h"

namespace cenv {

namespace {
constexpr const char* kLeaseName = "cenv-controller";
}  // namespace

Result<std::unique_ptr<LeadingReconcilers>> LeadingReconcilers::start(
    LeaseStore* leases, LeaderElectionOptions election, ApiService& api, WatchHub& hub,
    DockerConnection& docker, const Clock& clock, ReconcilerSetOptions options,
    EventRecorder& events) {
  std::unique_ptr<LeadingReconcilers> self(
      new LeadingReconcilers(api, hub, docker, clock, std::move(options), events));
  if (leases == nullptr) {
    auto set = ReconcilerSet::start(api, hub, docker, clock, self->options_);
    if (!set.ok()) return set.status();
    self->set_ = std::move(set).value();
    return self;
  }
  if (election.identity.empty()) election.identity = LeaderElectionOptions::default_identity();
  election.lease_name = kLeaseName;
  CENV_RETURN_IF_ERROR(election.validate());
  self->elector_ = std::make_unique<LeaderElector>(*leases, self->steady_, std::move(election),
                                                   self->options_.metrics);
  LeadingReconcilers* me = self.get();
  self->elector_->start([me](int64_t generation) { me->begin_term(generation); },
                        [me] { me->end_term(); });
  return self;
}

LeadingReconcilers::LeadingReconcilers(ApiService& api, WatchHub& hub, DockerConnection& docker,
                                       const Clock& clock, ReconcilerSetOptions options,
                                       EventRecorder& events)
    : api_(api),
      hub_(hub),
      docker_(docker),
      clock_(clock),
      options_(std::move(options)),
      events_(events) {}

LeadingReconcilers::~LeadingReconcilers() { stop(); }

void LeadingReconcilers::stop() {
  if (elector_) {
    elector_->stop();  // ends the term (end_term) before releasing the lease
    return;
  }
  std::lock_guard lock(mu_);
  if (set_) set_->stop();
}

Leadership LeadingReconcilers::leadership() const {
  if (elector_) return elector_->leadership();
  return {.leading = true, .generation = 0, .leader = "", .transitions = 0};
}

void LeadingReconcilers::record(std::string_view reason, const std::string& message) {
  // The lease is not an object of the store; its events name it as Kubernetes' do (kind Lease),
  // in the namespace "default", so `cenv events` lists them.
  Object lease;
  lease.json()["apiVersion"] = "cenv.io/v1";
  lease.json()["kind"] = "Lease";
  lease.set_name(kLeaseName);
  lease.metadata()["uid"] = std::string("lease-") + kLeaseName;
  events_.record(lease, EventSeverity::kNormal, reason, message);
}

void LeadingReconcilers::begin_term(int64_t generation) {
  const std::string me = elector_->identity();
  // Every Docker change of this term checks that the term still holds the lease.
  auto fenced = std::make_unique<DockerConnection>(
      [this, generation]() -> Result<std::unique_ptr<docker::DockerClient>> {
        auto inner = docker_.client();
        if (!inner.ok()) return inner.status();
        LeaderElector* elector = elector_.get();
        return std::unique_ptr<docker::DockerClient>(std::make_unique<docker::FencedDockerClient>(
            *inner.value(), [elector, generation] { return elector->check(generation); }));
      });
  // The informers must sync before the set runs; while this replica still leads, keep trying.
  for (;;) {
    auto set = ReconcilerSet::start(api_, hub_, *fenced, clock_, options_);
    if (set.ok()) {
      std::lock_guard lock(mu_);
      fenced_ = std::move(fenced);
      set_ = std::move(set).value();
      break;
    }
    if (!elector_->check(generation).ok()) return;
    spdlog::error("leader election: cannot start the controllers: {}; retrying",
                  set.status().message());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  // Deletions another replica began and left (it died) are finished by the leader.
  if (Status s = api_.resume_namespace_deletions(); !s.ok()) {
    spdlog::warn("leader election: cannot look for unfinished namespace deletions: {}",
                 s.message());
  }
  spdlog::info("this replica ({}) leads: the reconcilers run (lease generation {})", me,
               generation);
  record("LeaderElected", "controller replica " + me + " leads (lease generation " +
                              std::to_string(generation) + ") and runs the reconcilers");
}

void LeadingReconcilers::end_term() {
  std::unique_ptr<ReconcilerSet> set;
  std::unique_ptr<DockerConnection> fenced;
  {
    std::lock_guard lock(mu_);
    set = std::move(set_);
    fenced = std::move(fenced_);
  }
  if (set == nullptr) return;
  set->stop();
  set.reset();
  fenced.reset();
  const std::string me = elector_->identity();
  spdlog::warn("this replica ({}) no longer leads: the reconcilers stopped", me);
  record("LeaderLost", "controller replica " + me + " stopped leading and its reconcilers");
}

}  // namespace cenv
