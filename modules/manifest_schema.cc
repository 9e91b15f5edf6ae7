#include "modules/manifest_schema.h"

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "api/crd_yaml.h"
#include "api/json_fields.h"
#include "api/kinds.h"
#include "api/object.h"
#include "api/schema_validation.h"

namespace cenv::modules {

// Generated from crds/schemas/cenv-module.yaml (modules/manifest_schema_text.cc.in).
std::string_view manifest_schema_yaml();

namespace json = boost::json;

namespace {

// The kind name the validator knows the schema by; it appears in no message we return.
constexpr std::string_view kSchemaKind = "ModuleManifest";

// The schema with services' values replaced by the Service kind's spec schema.
Result<json::object> load_schema() {
  Result<json::value> doc = crd_yaml_to_json(manifest_schema_yaml());
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Status::Internal("the schema is not a mapping");
  json::object schema = std::move(doc->get_object());

  Result<std::shared_ptr<const KindRegistry>> kinds = KindRegistry::builtin();
  if (!kinds.ok()) return kinds.status();
  const KindInfo* service = (*kinds)->find("Service");
  const json::object* spec =
      service ? object_field(object_field(service->schema, "properties"), "spec") : nullptr;
  if (!spec) return Status::Internal("the Service kind has no spec schema");
  json::value* services = nullptr;
  if (json::value* props = schema.if_contains("properties"); props && props->is_object()) {
    services = props->get_object().if_contains("services");
  }
  if (!services || !services->is_object()) {
    return Status::Internal("the schema declares no services");
  }
  services->get_object()["additionalProperties"] = *spec;
  return schema;
}

struct CompiledSchema {
  std::vector<KindInfo> kinds;  // the one pseudo-kind; outlives validator
  std::unique_ptr<SchemaValidator> validator;
  Status error;  // set when the schema does not load or compile
};

const CompiledSchema& compiled_schema() {
  // Immutable once built; C++ guarantees thread-safe initialisation. On the heap, so that the
  // validator's reference to `kinds` stays valid.
  static const std::unique_ptr<const CompiledSchema> kSchema = [] {
    auto c = std::make_unique<CompiledSchema>();
    Result<json::object> schema = load_schema();
    if (!schema.ok()) {
      c->error = Status::Internal("the cenv-module.yaml schema does not load: " +
                                  schema.status().message());
      return c;
    }
    KindInfo info;
    info.kind = std::string(kSchemaKind);
    info.schema = std::move(*schema);
    if (Status compiles = SchemaValidator::check_compiles(info); !compiles.ok()) {
      c->error =
          Status::Internal("the cenv-module.yaml schema does not compile: " + compiles.message());
      return c;
    }
    c->kinds.push_back(std::move(info));
    c->validator = std::make_unique<SchemaValidator>(c->kinds);
    return c;
  }();
  return *kSchema;
}

}  // namespace

Status validate_manifest_schema(json::object& manifest) {
  const CompiledSchema& schema = compiled_schema();
  if (!schema.validator) return schema.error;
  // The validator checks objects: give the manifest the identity of the pseudo-kind for the
  // check (the caller refuses these fields in a manifest), then take it away again.
  Object object(std::move(manifest));
  object.json()["apiVersion"] = kApiVersion;
  object.json()["kind"] = kSchemaKind;
  Status status = schema.validator->default_and_validate(object);
  object.json().erase("apiVersion");
  object.json().erase("kind");
  manifest = std::move(object.json());
  if (status.ok() || status.code() != Code::kInvalid) return status;
  return Status::Invalid("the manifest does not match its schema", status.fields());
}

}  // namespace cenv::modules
