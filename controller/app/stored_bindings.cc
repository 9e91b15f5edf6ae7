#include "controller/app/stored_bindings.h"

#include <spdlog/spdlog.h>

#include <string_view>

namespace cenv {

namespace {

constexpr std::string_view kBindingKinds[] = {"RoleBinding", "ClusterRoleBinding"};

bool is_binding(const Object& o) {
  for (std::string_view kind : kBindingKinds) {
    if (o.kind() == kind) return true;
  }
  return false;
}

}  // namespace

StoredBindings::StoredBindings(Store& store, StoredBindingsOptions options)
    : store_(store), options_(options) {}

int64_t StoredBindings::builds() const {
  std::lock_guard lock(mu_);
  return builds_;
}

std::shared_ptr<const security::Authorizer> StoredBindings::current() {
  auto revision = store_.revision();
  std::lock_guard lock(mu_);
  if (!revision.ok()) {
    spdlog::warn("authorization: cannot read the store's revision: {}",
                 revision.status().message());
    if (!authorizer_) build(-1);
    return authorizer_;
  }
  if (authorizer_ && *revision <= seen_) return authorizer_;
  if (!authorizer_ || bindings_changed(*revision)) build(*revision);
  return authorizer_;
}

bool StoredBindings::bindings_changed(int64_t revision) {
  auto events = store_.events_since(seen_, options_.max_scan);
  if (!events.ok()) return true;  // compacted (Gone) or unreadable: read the bindings
  for (const WatchEvent& e : *events) {
    if (is_binding(e.object)) return true;
  }
  const bool complete = events->size() < options_.max_scan ||
                        (!events->empty() && events->back().revision >= revision);
  if (!complete) return true;
  // Current up to what was read (writes may have come after `revision` was read).
  seen_ = events->empty() ? revision : std::max(revision, events->back().revision);
  return false;
}

void StoredBindings::build(int64_t revision) {
  std::vector<Object> bindings;
  for (std::string_view kind : kBindingKinds) {
    ListOptions list_options;
    list_options.kind = std::string(kind);
    auto list = store_.list(list_options);
    if (!list.ok()) {
      // Unreadable: grant nothing new rather than guess (the local owner still passes).
      spdlog::warn("authorization: cannot read the {}s: {}", kind, list.status().message());
      if (!authorizer_) {
        authorizer_ =
            std::make_shared<const security::Authorizer>(security::Authorizer::from_bindings({}));
      }
      return;  // seen_ stays: the next call reads them again
    }
    for (Object& o : list->items) bindings.push_back(std::move(o));
  }
  authorizer_ =
      std::make_shared<const security::Authorizer>(security::Authorizer::from_bindings(bindings));
  ++builds_;
  // Read after `revision`: every binding written up to it is in; a later one is seen by the
  // next history scan (at worst one build too many).
  seen_ = revision;
}

}  // namespace cenv
