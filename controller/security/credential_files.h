#pragma once
// Reading and writing the files that hold certificates and keys.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv::security {

// Certificates, keys and the data key are small; a larger file is not one of them.
inline constexpr size_t kMaxCredentialFileBytes = 64 * 1024;

// Returns the whole file. NotFound when it does not exist; Invalid when it is not a regular
// file or is larger than `max_bytes`; Unavailable when it cannot be read. Messages name the file.
Result<std::string> read_credential_file(const std::filesystem::path& path,
                                         size_t max_bytes = kMaxCredentialFileBytes);

// Writes `content` to `path` with permissions exactly `mode` (whatever the umask), all or
// nothing: a reader sees the old file or the new one, never a part. AlreadyExists when the file
// exists and `overwrite` is false (the existing file is left as it was); Unavailable when the
// directory cannot be written. Messages name the file.
Status write_credential_file(const std::filesystem::path& path, std::string_view content,
                             mode_t mode, bool overwrite);

}  // namespace cenv::security
