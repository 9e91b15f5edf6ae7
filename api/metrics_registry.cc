#include "api/metrics_registry.h"

#include <algorithm>
#include <cassert>

namespace cenv::metrics {

const std::vector<double>& duration_buckets() {
  static const std::vector<double> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10,    30,     60};
  return kBounds;
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size());
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running + counts_[bounds_.size()].load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <typename T>
T& Family<T>::with(std::vector<std::string> values) {
  assert(values.size() == label_names().size());
  values.resize(label_names().size());  // what is written stays well-formed whatever the caller
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(std::move(values), std::move(child));
  return ref;
}

template <typename T>
FamilySnapshot Family<T>::collect() const {
  FamilySnapshot out = header();
  out.bounds = bounds_;
  std::lock_guard lock(mu_);
  out.samples.reserve(children_.size());
  for (const auto& [values, child] : children_) {
    Sample s;
    s.label_values = values;
    if constexpr (std::is_same_v<T, Histogram>) {
      s.histogram = child->snapshot();
    } else {
      s.value = static_cast<double>(child->value());
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename F>
F& Registry::family(const std::string& name, const std::string& help, Type type,
                    const std::vector<std::string>& labels, const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    // One name, one metric: a second registration must describe the same one.
    assert(it->second->type() == type && it->second->label_names() == labels);
    return static_cast<F&>(*it->second);
  }
  auto made = std::make_unique<F>(name, help, type, labels, bounds);
  F& ref = *made;
  families_.emplace(name, std::move(made));
  return ref;
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& labels) {
  return family<CounterFamily>(name, help, Type::kCounter, labels, {});
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             const std::vector<std::string>& labels) {
  return family<GaugeFamily>(name, help, Type::kGauge, labels, {});
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& labels,
                                     const std::vector<double>& bounds) {
  return family<HistogramFamily>(name, help, Type::kHistogram, labels, bounds);
}

std::vector<FamilySnapshot> Registry::collect() const {
  {
    std::lock_guard lock(refresh_mu_);
    for (const auto& [id, refresh] : refreshers_) refresh();
  }
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) families.push_back(f.get());
  }
  // Families are never removed: collecting each outside the registry's lock is safe.
  std::vector<FamilySnapshot> out;
  out.reserve(families.size());
  for (const FamilyBase* f : families) out.push_back(f->collect());
  return out;
}

std::unique_ptr<Registry::RefreshHandle> Registry::on_collect(std::function<void()> refresh) {
  std::lock_guard lock(refresh_mu_);
  uint64_t id = next_refresher_++;
  refreshers_.emplace(id, std::move(refresh));
  return std::make_unique<RefreshHandle>(*this, id);
}

Registry::RefreshHandle::~RefreshHandle() {
  std::lock_guard lock(registry_.refresh_mu_);
  registry_.refreshers_.erase(id_);
}

}  // namespace cenv::metrics
