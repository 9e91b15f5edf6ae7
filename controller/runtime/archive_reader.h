#pragma once
// ArchiveReader: how a reconciler reads a module source archive the CLI uploaded with an apply
// (Store::put_archive), by its content digest. The in-process client implements it over the
// store. Implementations are thread-safe.

#include <string>

#include "api/status.h"

namespace cenv {

class ArchiveReader {
 public:
  virtual ~ArchiveReader() = default;
  // The archive's bytes (a tar, possibly gzip-compressed); NotFound when no archive has
  // `digest`.
  virtual Result<std::string> get_archive(const std::string& digest) = 0;
};

}  // namespace cenv
