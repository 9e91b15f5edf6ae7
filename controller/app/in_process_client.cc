#include "controller/app/in_process_client.h"

#include <utility>
#include <vector>

namespace cenv {

namespace json = boost::json;

namespace {

// An absent status and an empty one are the same status.
bool same_status(const Object& a, const Object& b) {
  static const json::object kEmpty;
  const json::object* sa = a.status_or_null();
  const json::object* sb = b.status_or_null();
  return (sa ? *sa : kEmpty) == (sb ? *sb : kEmpty);
}

}  // namespace

Result<Object> ApiServiceClient::get(const ObjectKey& key) {
  return api_.get(key.kind, key.ns, key.name);
}

Result<ObjectList> ApiServiceClient::list(std::string_view kind, std::string_view ns,
                                          const LabelSelector& selector) {
  return api_.list(kind, ns, selector.to_string());
}

Result<Object> ApiServiceClient::create(const Object& obj) {
  auto existing = api_.get(obj.kind(), obj.ns(), obj.name());
  if (existing.ok()) {
    return Status::AlreadyExists(obj.key().to_string() + " already exists");
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  return apply(obj);
}

Result<Object> ApiServiceClient::apply(const Object& obj) {
  Object desired = obj;
  desired.json().erase("status");
  std::vector<ApplyItem> items;
  items.push_back({std::move(desired), field_manager_});
  ApplyOptions options;
  options.field_manager = field_manager_;
  options.force = true;
  options.caller = Caller::controller();
  auto outcomes = api_.apply(std::move(items), options);
  if (!outcomes.ok()) return outcomes.status();
  return std::move(outcomes.value().front().object);
}

Result<Object> ApiServiceClient::update(const Object& obj) {
  return api_.update(obj, field_manager_, Caller::controller());
}

Status ApiServiceClient::remove(const ObjectKey& key, const DeleteOptions& options) {
  auto removed = api_.remove(key.kind, key.ns, key.name, options.resource_version,
                             options.propagation, Caller::controller());
  return removed.status();
}

Result<Object> ApiServiceClient::update_status(const Object& obj) {
  auto current = api_.get(obj.kind(), obj.ns(), obj.name());
  if (!current.ok()) return current.status();
  if (same_status(current.value(), obj)) return current;
  return api_.update_status(obj, Caller::controller());
}

Result<std::string> ApiServiceClient::get_archive(const std::string& digest) {
  return api_.store().get_archive(digest);
}

Result<std::vector<BatchApplyOutcome>> ApiServiceClient::apply_batch(
    std::vector<BatchApplyItem> items, const BatchApplyOptions& options) {
  std::vector<ApplyItem> apply_items;
  apply_items.reserve(items.size());
  for (BatchApplyItem& item : items) {
    item.object.json().erase("status");
    apply_items.push_back({std::move(item.object), std::move(item.source)});
  }
  ApplyOptions apply_options;
  apply_options.field_manager = options.field_manager;
  apply_options.dry_run = options.dry_run;
  apply_options.force = options.force;
  apply_options.applyset = options.applyset;
  apply_options.prune = options.prune;
  apply_options.keep = options.keep;
  auto outcomes = api_.apply(std::move(apply_items), apply_options);
  if (!outcomes.ok()) return outcomes.status();
  std::vector<BatchApplyOutcome> out;
  out.reserve(outcomes->size());
  for (ApplyOutcome& o : outcomes.value()) out.push_back({o.action, std::move(o.object)});
  return out;
}

}  // namespace cenv
