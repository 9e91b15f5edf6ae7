#pragma once
// Defaulting and validation of objects against the OpenAPI v3 schemas of their kinds' CRDs.
// valijson checks types, required fields, enums, bounds, lengths, counts and unknown fields; a
// walk of our own applies defaults and checks patterns, date-times, map keys and the
// x-cenv-one-of / x-cenv-exclusive field groups and x-cenv-key-of references. Errors read as
// Kubernetes' field errors.

#include <memory>
#include <mutex>
#include <vector>

#include "api/kinds.h"
#include "api/object.h"
#include "api/status.h"

namespace cenv {

struct CompiledKind;  // one kind's compiled schema (private to schema_validation.cc)

// Validates objects of a fixed set of kinds. Each kind's schema compiles on first use
// (compiling every pattern of every kind costs milliseconds that a CLI resolving "svc" should
// not pay). Thread-safe.
class SchemaValidator {
 public:
  // Validates objects of `kinds`, which must outlive the validator and not change.
  explicit SchemaValidator(const std::vector<KindInfo>& kinds);
  ~SchemaValidator();
  SchemaValidator(const SchemaValidator&) = delete;
  SchemaValidator& operator=(const SchemaValidator&) = delete;

  // Compiles the schema of `info` once, to refuse a CRD whose schema does not compile when it
  // is loaded; Invalid "schema of <Kind> ..." naming what is wrong.
  static Status check_compiles(const KindInfo& info);

  // As KindRegistry::default_and_validate (api/kinds.h), which forwards here. Internal when
  // the kind's schema does not compile.
  Status default_and_validate(Object& obj) const;

 private:
  struct Slot {
    std::once_flag once;
    std::unique_ptr<CompiledKind> compiled;  // set once by `once`
    Status error;                            // set once by `once` when compiling failed
  };
  // The compiled schema of kinds_[index], compiling it on first use; nullptr with `error` set
  // when it does not compile.
  const CompiledKind* compiled(size_t index, Status* error) const;
  // Index into kinds_ of the object's kind, or kinds_.size(); appends the errors of apiVersion
  // and kind.
  size_t check_identity(const Object& obj, std::vector<FieldError>& errors) const;

  const std::vector<KindInfo>& kinds_;
  mutable std::vector<Slot> slots_;  // parallel to kinds_
};

}  // namespace cenv
