#pragma once
// ApiServiceClient: the Client of reconcilers running in the API server's process: it calls
// ApiService directly (same validation, same watch events as remote clients get), no gRPC.
// Its writes are the controller's own (Caller::controller(): managedFields name the user
// system:cenv-controller, and no write event is told). Thread-safe. `api` must outlive it.

#include <string>

#include "controller/runtime/archive_reader.h"
#include "controller/runtime/batch_applier.h"
#include "controller/runtime/client.h"
#include "controller/server/api_service.h"

namespace cenv {

// The field manager controller writes are recorded under, unless told otherwise.
inline constexpr std::string_view kControllerFieldManager = "cenv-controller";

class ApiServiceClient final : public Client, public ArchiveReader, public BatchApplier {
 public:
  explicit ApiServiceClient(ApiService& api,
                            std::string field_manager = std::string(kControllerFieldManager))
      : api_(api), field_manager_(std::move(field_manager)) {}

  Result<Object> get(const ObjectKey& key) override;
  Result<ObjectList> list(std::string_view kind, std::string_view ns,
                          const LabelSelector& selector) override;
  // ApiService has no create: this is a get (AlreadyExists when found) followed by an apply,
  // so an object created by someone else between the two is applied over, not refused.
  // generateName is not supported (Invalid).
  Result<Object> create(const Object& obj) override;
  Result<Object> apply(const Object& obj) override;
  Result<Object> update(const Object& obj) override;
  Status remove(const ObjectKey& key, const DeleteOptions& options) override;
  Result<Object> update_status(const Object& obj) override;
  Result<std::string> get_archive(const std::string& digest) override;
  // ApiService::apply of every item under options.field_manager (not this client's).
  Result<std::vector<BatchApplyOutcome>> apply_batch(std::vector<BatchApplyItem> items,
                                                     const BatchApplyOptions& options) override;

 private:
  ApiService& api_;
  const std::string field_manager_;
};

}  // namespace cenv
