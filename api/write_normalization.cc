#include "api/write_normalization.h"

#include <charconv>
#include <optional>

#include "api/names.h"

namespace cenv {

namespace json = boost::json;

namespace {

// Fields of metadata only the server sets; a manifest's values are ignored (resourceVersion is
// read first, as the write's precondition).
constexpr std::string_view kServerOwnedMeta[] = {
    "uid",          "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "managedFields"};

// metadata.resourceVersion as a version: 0 when absent, null or empty; nullopt when it is not
// a non-negative integer (as a number or a string of digits).
std::optional<int64_t> precondition_version(const json::object& meta) {
  const json::value* v = meta.if_contains("resourceVersion");
  if (!v || v->is_null()) return 0;
  if (v->is_int64())
    return v->get_int64() >= 0 ? std::optional<int64_t>(v->get_int64()) : std::nullopt;
  if (v->is_uint64()) return std::nullopt;  // past int64: no revision is that high
  if (!v->is_string()) return std::nullopt;
  std::string_view s = v->get_string();
  if (s.empty()) return 0;
  int64_t out = 0;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (error != std::errc() || end != s.data() + s.size() || out < 0) return std::nullopt;
  return out;
}

}  // namespace

std::string describe_object(const Object& object) {
  std::string out(object.kind());
  out += " \"";
  out += object.name();
  out += '"';
  if (!object.ns().empty()) {
    out += " in namespace \"";
    out += object.ns();
    out += '"';
  }
  return out;
}

Status check_precondition(const WritePrecondition& precondition, const Object& object,
                          const Object* stored) {
  if (precondition.resource_version == 0) return Status::Ok();
  std::string what = "Operation cannot be fulfilled on " + describe_object(object);
  if (!stored) {
    return Status::Conflict(what +
                            ": the object does not exist (metadata.resourceVersion names a "
                            "version that is gone); remove metadata.resourceVersion to create it");
  }
  if (stored->resource_version() == precondition.resource_version) return Status::Ok();
  return Status::Conflict(what +
                          ": the object has been modified; please apply your changes to the "
                          "latest version and try again");
}

Result<const KindInfo*> manifest_kind(const Object& object, const KindRegistry& kinds) {
  if (object.api_version() != kApiVersion) {
    return Status::Invalid("apiVersion: Unsupported value: \"" + std::string(object.api_version()) +
                           "\": supported values: \"" + std::string(kApiVersion) + "\"");
  }
  const KindInfo* info = kinds.find(object.kind());
  if (!info || info->kind != object.kind()) {
    return Status::Invalid("kind: Unsupported value: \"" + std::string(object.kind()) +
                           "\": no such kind in " + std::string(kApiVersion));
  }
  return info;
}

Result<WritePrecondition> normalize_for_write(Object& object, const KindInfo& info,
                                              const KindRegistry& kinds,
                                              const WriteNormalizationOptions& options) {
  std::vector<FieldError> errors;
  json::object& meta = object.metadata();
  WritePrecondition precondition;
  if (auto version = precondition_version(meta)) {
    precondition.resource_version = *version;
  } else {
    errors.push_back({"metadata.resourceVersion",
                      "Invalid value: " + json::serialize(meta.at("resourceVersion")) +
                          ": must be a resourceVersion the server gave (a non-negative integer)"});
  }
  for (std::string_view k : kServerOwnedMeta) meta.erase(k);
  if (!options.applyset.empty()) {
    json::value& labels = meta["labels"];
    if (!labels.is_object()) labels = json::object();
    labels.get_object()[kApplySetLabel] = options.applyset;
  }
  if (info.namespaced) {
    if (object.ns().empty()) object.set_ns(kDefaultNamespace);
  } else if (auto it = meta.find("namespace");
             it != meta.end() && it->value().is_string() && it->value().get_string().empty()) {
    meta.erase(it);
  }
  validate_object_meta(object.json(), info.namespaced, &errors);
  Status schema = kinds.default_and_validate(object);
  if (!schema.ok()) {
    if (schema.fields().empty()) {
      errors.push_back({"", schema.message()});
    } else {
      errors.insert(errors.end(), schema.fields().begin(), schema.fields().end());
    }
  }
  if (!errors.empty()) {
    return Status::Invalid(
        std::string(object.kind()) + " \"" + std::string(object.name()) + "\" is invalid",
        std::move(errors));
  }
  return precondition;
}

std::vector<std::string> write_problems(const Status& failed, const Object& object) {
  if (failed.fields().empty()) return {failed.message()};
  std::vector<std::string> lines;
  for (const FieldError& f : failed.fields()) {
    lines.push_back(describe_object(object) + ": " + (f.path.empty() ? "" : f.path + ": ") +
                    f.message);
  }
  return lines;
}

}  // namespace cenv
