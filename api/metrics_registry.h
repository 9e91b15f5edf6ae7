#pragma once
// metrics::Registry: counters, gauges and histograms in labelled families, so that every layer
// counts what it does (the work queues, the controllers, the Docker client, the LogHub) without
// knowing how it is served. The server's Metrics (controller/server/metrics.h) owns the registry
// of a controller process and is the one that writes it out (Prometheus text, GET /metrics).
//
// A family is made once per name; each of its children (one per list of label values) lives as
// long as the registry, so callers on a hot path look a child up once and keep the reference.
// Updating a child takes no lock (atomics); looking one up takes its family's mutex.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cenv::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Upper bounds (seconds) of the duration histograms: 100 µs to 60 s.
const std::vector<double>& duration_buckets();

// A value that only goes up (events, bytes).
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (a queue's depth).
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound, with their count and sum.
class Histogram {
 public:
  // `bounds` (ascending) must outlive the histogram (its family keeps them).
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  void observe(std::chrono::nanoseconds d) { observe(std::chrono::duration<double>(d).count()); }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // observations <= each bound, in the order of the bounds
    uint64_t count = 0;                // every observation (the +Inf bucket)
    double sum = 0;
  };
  // The counts as they are now; `count` always equals the +Inf bucket (computed from the
  // buckets), so the buckets never exceed it.
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bound, then one past the last bound
  std::atomic<double> sum_{0};
};

// One child's values, as collect() reports them.
struct Sample {
  std::vector<std::string> label_values;  // in the order of the family's label names
  double value = 0;                       // counters and gauges
  Histogram::Snapshot histogram;          // histograms
};

// One family as collect() reports it.
struct FamilySnapshot {
  std::string name;
  std::string help;
  Type type = Type::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;   // histograms
  std::vector<Sample> samples;  // ordered by label values
};

// What every family shares: its name, help, type and label names.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return labels_; }
  virtual FamilySnapshot collect() const = 0;

 protected:
  FamilySnapshot header() const { return {name_, help_, type_, labels_, {}, {}}; }

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> labels_;
};

// The children of one metric, one per list of label values. A family without labels has its
// one child from the start (so it is reported as 0 before anything counted).
template <typename T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        bounds_(std::move(bounds)) {
    if (label_names().empty()) with(std::vector<std::string>{});
  }

  // The child for `values` (one per label name, in their order), made on first use; the
  // reference stays valid for the registry's life.
  T& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }
  T& with(std::vector<std::string> values);  // as many values as label names (asserted)

  FamilySnapshot collect() const override;

 private:
  const std::vector<double> bounds_;  // histograms
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The family `name` (Prometheus conventions: a counter's name ends in _total, units in the
  // name, base units), made on first call with `help` and `labels`; a later call with the same
  // name returns that family, and must ask for the same type and labels (asserted).
  CounterFamily& counter(const std::string& name, const std::string& help,
                         const std::vector<std::string>& labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     const std::vector<std::string>& labels = {});
  // `bounds`: ascending upper bounds; default duration_buckets().
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             const std::vector<std::string>& labels = {},
                             const std::vector<double>& bounds = duration_buckets());

  // Runs the refresh functions (on_collect), then returns every family with its children's
  // values, ordered by name.
  std::vector<FamilySnapshot> collect() const;

  // Stops its refresh function when destroyed: once the destructor returned, the function is
  // not running and will not run again.
  class RefreshHandle {
   public:
    RefreshHandle(Registry& registry, uint64_t id) : registry_(registry), id_(id) {}
    ~RefreshHandle();
    RefreshHandle(const RefreshHandle&) = delete;
    RefreshHandle& operator=(const RefreshHandle&) = delete;

   private:
    Registry& registry_;
    const uint64_t id_;
  };
  // Runs `refresh` at the start of every collect(), for gauges whose value depends on the time
  // of the scrape (how long work in progress has been running), until the handle is destroyed.
  // `refresh` must not call collect() or on_collect().
  [[nodiscard]] std::unique_ptr<RefreshHandle> on_collect(std::function<void()> refresh);

 private:
  template <typename F>
  F& family(const std::string& name, const std::string& help, Type type,
            const std::vector<std::string>& labels, const std::vector<double>& bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;  // guarded by mu_
  // Held while refresh functions run or are added or removed.
  mutable std::mutex refresh_mu_;
  std::map<uint64_t, std::function<void()>> refreshers_;  // guarded by refresh_mu_
  uint64_t next_refresher_ = 0;                           // guarded by refresh_mu_
};

}  // namespace cenv::metrics
