#include "controller/security/credential_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace cenv::security {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Writes all of `content` to `fd`, retrying short writes.
bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    content.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::filesystem::path temp_path_beside(const std::filesystem::path& path) {
  std::random_device rd;
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp-" + std::to_string(rd()) + std::to_string(rd()));
}

// Creates a fresh temporary file beside `path` holding `content` with `mode`.
Result<std::filesystem::path> write_temp(const std::filesystem::path& path,
                                         std::string_view content, mode_t mode) {
  std::filesystem::path temp = temp_path_beside(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable(path.string() + ": cannot write: " + errno_text(errno));
  }
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, content) && ::fsync(fd) == 0;
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(temp.c_str());
    return Status::Unavailable(path.string() + ": cannot write: " + errno_text(err));
  }
  return temp;
}

}  // namespace

Result<std::string> read_credential_file(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    return Status::NotFound(path.string() + ": no such file");
  }
  if (ec) return Status::Unavailable(path.string() + ": " + ec.message());
  if (status.type() != std::filesystem::file_type::regular) {
    return Status::Invalid(path.string() + ": not a regular file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::Unavailable(path.string() + ": " + ec.message());
  if (size > max_bytes) {
    return Status::Invalid(path.string() + ": " + std::to_string(size) + " bytes, more than the " +
                           std::to_string(max_bytes) + " a certificate or key file may have");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return Status::Unavailable(path.string() + ": cannot read: " + errno_text(errno));
  return text.str();
}

Status write_credential_file(const std::filesystem::path& path, std::string_view content,
                             mode_t mode, bool overwrite) {
  auto temp = write_temp(path, content, mode);
  if (!temp.ok()) return temp.status();
  // link() refuses an existing target atomically; rename() replaces it atomically.
  int rc = overwrite ? ::rename(temp->c_str(), path.c_str()) : ::link(temp->c_str(), path.c_str());
  int err = errno;
  if (!overwrite || rc != 0) ::unlink(temp->c_str());
  if (rc == 0) return Status::Ok();
  if (err == EEXIST) {
    return Status::AlreadyExists(path.string() + ": already exists (not overwritten)");
  }
  return Status::Unavailable(path.string() + ": cannot write: " + errno_text(err));
}

}  // namespace cenv::security
