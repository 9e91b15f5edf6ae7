#include "api/kinds.h"

#include <cctype>
#include <utility>

#include "api/crd_yaml.h"
#include "api/display_text.h"
#include "api/json_fields.h"
#include "api/jsonpath.h"
#include "api/schema_validation.h"

namespace cenv {

// Generated from crds/ by api/tools/embed_crds.cc: each CRD converted to JSON.
const std::vector<std::string>& embedded_crds_json();

namespace json = boost::json;

namespace {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads one CRD; errors name the field of the CRD that is wrong.
Result<KindInfo> parse_crd(const json::object& crd) {
  if (string_field(crd, "kind") != "CustomResourceDefinition") {
    return Status::Invalid("kind is not CustomResourceDefinition");
  }
  const json::object* spec = object_field(crd, "spec");
  if (!spec) return Status::Invalid("spec is missing");
  std::string_view group = string_field(*spec, "group");
  if (group != "cenv.io") return Status::Invalid("spec.group must be cenv.io");
  const json::object* names = object_field(spec, "names");
  if (!names) return Status::Invalid("spec.names is missing");
  KindInfo info;
  info.kind = std::string(string_field(*names, "kind"));
  info.plural = std::string(string_field(*names, "plural"));
  info.singular = std::string(string_field(*names, "singular"));
  if (info.kind.empty()) return Status::Invalid("spec.names.kind is missing");
  if (info.plural.empty()) return Status::Invalid("spec.names.plural is missing");
  if (info.singular.empty()) info.singular = to_lower(info.kind);
  if (const json::value* sn = names->if_contains("shortNames")) {
    if (!sn->is_array()) return Status::Invalid("spec.names.shortNames is not a list");
    for (const json::value& n : sn->get_array()) {
      if (!n.is_string() || n.get_string().empty()) {
        return Status::Invalid("spec.names.shortNames holds a non-string");
      }
      info.short_names.emplace_back(n.get_string());
    }
  }
  std::string expected_name = info.plural + "." + std::string(group);
  const json::object* meta = object_field(crd, "metadata");
  if (!meta || string_field(*meta, "name") != expected_name) {
    return Status::Invalid("metadata.name must be " + expected_name);
  }
  std::string_view scope = string_field(*spec, "scope");
  if (scope != "Namespaced" && scope != "Cluster") {
    return Status::Invalid("spec.scope must be Namespaced or Cluster");
  }
  info.namespaced = scope == "Namespaced";

  const json::value* versions = spec->if_contains("versions");
  if (!versions || !versions->is_array()) return Status::Invalid("spec.versions is missing");
  const json::object* version = nullptr;
  for (const json::value& v : versions->get_array()) {
    if (v.is_object() && string_field(v.get_object(), "name") == "v1") version = &v.get_object();
  }
  if (!version) return Status::Invalid("spec.versions has no version v1");
  const json::object* schema = object_field(object_field(version, "schema"), "openAPIV3Schema");
  if (!schema) return Status::Invalid("spec.versions[v1].schema.openAPIV3Schema is missing");
  info.schema = *schema;

  if (const json::value* cols = version->if_contains("additionalPrinterColumns")) {
    if (!cols->is_array()) return Status::Invalid("additionalPrinterColumns is not a list");
    for (const json::value& c : cols->get_array()) {
      if (!c.is_object()) return Status::Invalid("additionalPrinterColumns holds a non-object");
      const json::object& co = c.get_object();
      PrinterColumn col;
      col.name = std::string(string_field(co, "name"));
      col.type = std::string(string_field(co, "type"));
      col.json_path = std::string(string_field(co, "jsonPath"));
      col.description = std::string(string_field(co, "description"));
      col.priority = static_cast<int>(int64_field(co, "priority").value_or(0));
      if (col.name.empty() || col.json_path.empty()) {
        return Status::Invalid("additionalPrinterColumns entry needs name and jsonPath");
      }
      if (col.type.empty()) col.type = "string";
      Result<JsonPath> jp = JsonPath::parse(col.json_path);
      if (!jp.ok())
        return jp.status().with_prefix("printer column " + escape_for_display(col.name));
      info.columns.push_back(std::move(col));
    }
  }
  return info;
}

}  // namespace

KindRegistry::~KindRegistry() = default;

Result<std::shared_ptr<const KindRegistry>> KindRegistry::builtin() {
  // Immutable once built; C++ guarantees thread-safe initialisation. The CRDs were converted
  // to JSON at build time (api/tools/embed_crds.cc) and their schemas compile on first use, so
  // resolving a kind name costs a JSON parse, not a YAML parse and a regex compile per pattern.
  static const Result<std::shared_ptr<const KindRegistry>> kBuiltin =
      []() -> Result<std::shared_ptr<const KindRegistry>> {
    std::vector<json::value> docs;
    for (const std::string& text : embedded_crds_json()) {
      boost::system::error_code ec;
      json::value doc = json::parse(text, ec);
      if (ec) return Status::Internal("built-in CRDs are broken: " + ec.message());
      docs.push_back(std::move(doc));
    }
    auto r = from_documents(std::move(docs), /*compile_now=*/false);
    if (!r.ok()) return Status::Internal("built-in CRDs are broken: " + r.status().to_string());
    return r;
  }();
  return kBuiltin;
}

Result<std::shared_ptr<const KindRegistry>> KindRegistry::from_crds(
    const std::vector<std::string>& crd_texts) {
  std::vector<json::value> docs;
  for (size_t i = 0; i < crd_texts.size(); ++i) {
    Result<json::value> converted = crd_yaml_to_json(crd_texts[i]);
    if (!converted.ok()) return converted.status().with_prefix("CRD #" + std::to_string(i + 1));
    docs.push_back(std::move(converted.value()));
  }
  return from_documents(std::move(docs), /*compile_now=*/true);
}

Result<std::shared_ptr<const KindRegistry>> KindRegistry::from_documents(
    std::vector<json::value> docs, bool compile_now) {
  std::shared_ptr<KindRegistry> reg(new KindRegistry());
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string label = "CRD #" + std::to_string(i + 1);
    json::value& doc = docs[i];
    if (!doc.is_object()) return Status::Invalid(label + ": not a YAML mapping");
    if (const json::object* meta = object_field(doc.get_object(), "metadata")) {
      std::string_view name = string_field(*meta, "name");
      if (!name.empty()) label += " (" + escape_for_display(name) + ")";
    }
    Result<KindInfo> info = parse_crd(doc.get_object());
    if (!info.ok()) return info.status().with_prefix(label);
    if (compile_now) {
      Status compiled = SchemaValidator::check_compiles(*info);
      if (!compiled.ok()) return compiled.with_prefix(label);
    }

    size_t index = reg->kinds_.size();
    std::vector<std::string> names = {info->kind, info->plural, info->singular};
    names.insert(names.end(), info->short_names.begin(), info->short_names.end());
    for (const std::string& n : names) {
      std::string key = to_lower(n);
      auto [it, inserted] = reg->names_.emplace(key, index);
      if (!inserted && it->second != index) {
        std::string message = label;
        message += ": name \"" + escape_for_display(n) + "\" is already used by kind ";
        message += escape_for_display(reg->kinds_[it->second].kind);
        return Status::Invalid(std::move(message));
      }
    }
    reg->kinds_.push_back(std::move(*info));
  }
  reg->validator_ = std::make_unique<SchemaValidator>(reg->kinds_);
  return std::shared_ptr<const KindRegistry>(std::move(reg));
}

const KindInfo* KindRegistry::find(std::string_view name) const {
  auto it = names_.find(to_lower(name));
  return it == names_.end() ? nullptr : &kinds_[it->second];
}

Status KindRegistry::default_and_validate(Object& obj) const {
  return validator_->default_and_validate(obj);
}

}  // namespace cenv
