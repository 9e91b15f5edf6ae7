#pragma once
// The kinds of cenv, loaded from the CRD-style YAML files in crds/ (embedded in the binary at
// build time). A KindRegistry answers "what is `svc`?" and validates objects of each kind
// against its OpenAPI v3 schema, after applying the schema's defaults (the validation itself
// lives in api/schema_validation.h). A built KindRegistry is immutable and thread-safe.

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"

namespace cenv {

struct PrinterColumn {
  std::string name;       // header, e.g. "Phase"
  std::string type;       // string, integer, date, ...
  std::string json_path;  // e.g. ".status.phase"
  std::string description;
  int priority = 0;  // > 0: only with -o wide
};

struct KindInfo {
  std::string kind;                      // "Service"
  std::string plural;                    // "services"
  std::string singular;                  // "service"
  std::vector<std::string> short_names;  // {"svc"}
  bool namespaced = true;
  std::vector<PrinterColumn> columns;
  boost::json::object schema;  // openAPIV3Schema of the version cenv.io/v1
};

class SchemaValidator;  // api/schema_validation.h

class KindRegistry {
 public:
  // Loads the CRDs compiled into the binary from crds/ (embedded as JSON at build time). Their
  // schemas compile on first use: an Internal error then names a schema that does not compile
  // (crds/ are tested, so this does not happen in a released binary).
  static Result<std::shared_ptr<const KindRegistry>> builtin();
  // Loads from CRD YAML texts (one CRD per text), compiling every schema at once; Invalid
  // naming the text on error.
  static Result<std::shared_ptr<const KindRegistry>> from_crds(
      const std::vector<std::string>& crd_texts);

  ~KindRegistry();

  // Finds by kind, plural, singular or short name, case-insensitively; nullptr if unknown.
  const KindInfo* find(std::string_view name) const;
  const std::vector<KindInfo>& kinds() const { return kinds_; }

  // Applies defaults from the schema (recursively, including inside list items), then
  // validates the whole object; Invalid with every failing field path on failure.
  // Unknown fields are errors ("spec.foo: unknown field"). apiVersion/kind must match.
  // Declared fields set to null count as absent and are removed (as Kubernetes prunes them).
  // `obj` keeps the defaults even when invalid. metadata is not checked here.
  // Status: Invalid("<Kind> \"<name>\" is invalid"), fields sorted by path, e.g.
  //   spec.ports[0].containerPort: must be between 1 and 65535
  //   spec.ports[0].containerPort: Required value
  //   spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", ...
  //   spec.ports[0].containerPort: Invalid value: "string": expected integer
  //   spec.volumes[0].mountPath: Invalid value: "data": must be an absolute path
  //   spec.variables[my.key]: ...           (map keys that are not identifiers)
  // Thread-safe.
  Status default_and_validate(Object& obj) const;

 private:
  KindRegistry() = default;
  // Reads parsed CRDs; `compile_now` compiles every schema here (else on first use).
  static Result<std::shared_ptr<const KindRegistry>> from_documents(
      std::vector<boost::json::value> docs, bool compile_now);
  std::vector<KindInfo> kinds_;
  // Lower-cased kind, plural, singular and short names -> index into kinds_.
  std::map<std::string, size_t, std::less<>> names_;
  std::unique_ptr<SchemaValidator> validator_;  // validates objects of kinds_
};

}  // namespace cenv
