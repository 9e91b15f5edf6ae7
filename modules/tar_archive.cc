#include "modules/tar_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>
#include <set>
#include <utility>

namespace cenv::modules {

namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

// Headers, padding and pax records a tar needs beyond its files' bytes: per allowed file
// (a 512-byte header, up to 511 bytes of padding, a pax header for a long path, and as much
// again for its parent directory) plus the end-of-archive blocks.
constexpr uint64_t kTarOverheadPerFile = 4096;
constexpr uint64_t kTarOverheadFixed = 1 << 20;
constexpr size_t kReadChunk = size_t{64} * 1024;

std::string archive_message(archive* a, std::string_view what) {
  const char* err = archive_error_string(a);
  return std::string(what) + ": " + (err != nullptr ? err : "unknown libarchive error");
}

// ---- writing ----

la_ssize_t append_to_string(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

Status write_entry(archive* a, const std::string& path, mode_t type, int perm,
                   const std::string* data) {
  EntryPtr entry(archive_entry_new(), &archive_entry_free);
  // Paths are bytes, stored as they are (see write_tar), whatever the process's locale.
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), perm);
  archive_entry_set_size(entry.get(), data != nullptr ? static_cast<la_int64_t>(data->size()) : 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
    return Status::Internal(archive_message(a, "tar: cannot write the header of \"" + path + "\""));
  }
  if (data != nullptr && !data->empty()) {
    la_ssize_t n = archive_write_data(a, data->data(), data->size());
    if (n < 0 || static_cast<size_t>(n) != data->size()) {
      return Status::Internal(archive_message(a, "tar: cannot write the data of \"" + path + "\""));
    }
  }
  return Status::Ok();
}

bool has_non_ascii_path(const FileTree& tree) {
  for (const auto& [path, entry] : tree.files) {
    for (unsigned char c : path) {
      if (c >= 0x80) return true;
    }
  }
  return false;
}

Status write_entries(archive* a, const FileTree& tree) {
  std::set<std::string> dirs_written;
  for (const auto& [path, entry] : tree.files) {
    CENV_RETURN_IF_ERROR(check_tree_path(path));
    // Each parent directory once, outermost first, before the first file inside it.
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string dir = path.substr(0, slash + 1);
      if (!dirs_written.insert(dir).second) continue;
      CENV_RETURN_IF_ERROR(write_entry(a, dir, AE_IFDIR, 0755, nullptr));
    }
    CENV_RETURN_IF_ERROR(
        write_entry(a, path, AE_IFREG, entry.executable ? 0755 : 0644, &entry.data));
  }
  return Status::Ok();
}

// ---- reading ----

// Decompresses `bytes` (gzip or none) into plain tar bytes, refusing to go past `bound`.
// A separate pass keeps the bound exact: no skipped or oversized record of the tar reader can
// make libarchive inflate more than this.
Result<std::string> decompress_bounded(std::string_view bytes, uint64_t bound) {
  ArchivePtr a(archive_read_new(), &archive_read_free);
  // gzip only (built into libarchive through zlib): archive_read_support_filter_all would also
  // enable filters that run an external program on untrusted input.
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_raw(a.get()) != ARCHIVE_OK) {
    return Status::Internal(archive_message(a.get(), "tar: libarchive lacks built-in gzip"));
  }
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Status::Invalid(archive_message(a.get(), "tar: cannot read the archive"));
  }
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(a.get(), &entry);
  if (r == ARCHIVE_EOF) return std::string();
  if (r != ARCHIVE_OK)
    return Status::Invalid(archive_message(a.get(), "tar: cannot read the archive"));
  std::string out;
  std::string chunk(kReadChunk, '\0');
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), chunk.data(), chunk.size());
    if (n < 0)
      return Status::Invalid(archive_message(a.get(), "tar: cannot decompress the archive"));
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > bound) {
      return Status::Invalid("tar: the archive expands beyond " + std::to_string(bound) +
                             " bytes (the limit)");
    }
    out.append(chunk.data(), static_cast<size_t>(n));
  }
  return out;
}

// Why an entry that is not a regular file or a directory is refused, or "" if it is either.
std::string refused_type(archive_entry* entry) {
  if (const char* target = archive_entry_hardlink(entry); target != nullptr) {
    return "is a hard link to \"" + std::string(target) + "\"";
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
      return "";
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      return "is a symbolic link to \"" + std::string(target != nullptr ? target : "") + "\"";
    }
    case AE_IFCHR:
    case AE_IFBLK:
      return "is a device";
    case AE_IFIFO:
      return "is a fifo";
    case AE_IFSOCK:
      return "is a socket";
    default:
      return "has an unsupported file type";
  }
}

// The entry's path as stored in the tree: "./" stripped, a directory's trailing '/' dropped.
Result<std::string> entry_path(archive_entry* entry) {
  const char* raw = archive_entry_pathname(entry);
  if (raw == nullptr) return Status::Invalid("tar entry without a path");
  std::string path = raw;
  if (!path.empty() && path.front() == '/') {
    return Status::Invalid("tar entry \"" + path + "\" has an absolute path");
  }
  if (path.rfind("./", 0) == 0) path.erase(0, 2);
  return path;
}

Status read_file_data(archive* a, const std::string& path, uint64_t allowed, std::string& out) {
  std::string chunk(kReadChunk, '\0');
  for (;;) {
    la_ssize_t n = archive_read_data(a, chunk.data(), chunk.size());
    if (n < 0) return Status::Invalid(archive_message(a, "tar entry \"" + path + "\""));
    if (n == 0) return Status::Ok();
    // The header's size was admitted; this guards a reader that yields more (sparse files).
    if (out.size() + static_cast<size_t>(n) > allowed) {
      return Status::Invalid("tar entry \"" + path + "\" holds more bytes than the limits allow");
    }
    out.append(chunk.data(), static_cast<size_t>(n));
  }
}

Status read_entries(archive* a, BoundedTree& tree) {
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r != ARCHIVE_OK) return Status::Invalid(archive_message(a, "tar: cannot read an entry"));
    Result<std::string> path = entry_path(entry);
    if (!path.ok()) return path.status();
    if (std::string why = refused_type(entry); !why.empty()) {
      return Status::Invalid("tar entry \"" + *path + "\" " + why);
    }
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      std::string dir = *path;
      while (!dir.empty() && dir.back() == '/') dir.pop_back();
      if (dir.empty() || dir == ".") continue;
      Status s = check_tree_path(dir);
      if (!s.ok()) return Status::Invalid("tar entry " + s.message());
      continue;
    }
    if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
      return Status::Invalid("tar entry \"" + *path + "\" has no size");
    }
    const auto size = static_cast<uint64_t>(archive_entry_size(entry));
    CENV_RETURN_IF_ERROR(tree.admit(*path, size));
    std::string data;
    data.reserve(size);
    CENV_RETURN_IF_ERROR(read_file_data(a, *path, tree.remaining_for_one_file(), data));
    const bool executable = (archive_entry_perm(entry) & 0111) != 0;
    CENV_RETURN_IF_ERROR(tree.add(std::move(*path), std::move(data), executable));
  }
}

}  // namespace

Result<std::string> write_tar(const FileTree& tree, bool gzip) {
  ArchivePtr a(archive_write_new(), &archive_write_free);
  std::string out;
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK) {
    return Status::Internal(archive_message(a.get(), "tar: cannot set up the writer"));
  }
  // A non-ASCII path would be converted from the locale's charset (and fail in the C locale);
  // hdrcharset=BINARY stores the bytes as they are. ASCII-only trees keep plain pax headers,
  // which every tar reads without a warning.
  if (has_non_ascii_path(tree) &&
      archive_write_set_format_option(a.get(), "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) {
    return Status::Internal(archive_message(a.get(), "tar: cannot set up the writer"));
  }
  if (gzip) {
    // "!timestamp" keeps the gzip header's mtime 0, so equal trees give equal bytes.
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
        archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK) {
      return Status::Internal(archive_message(a.get(), "tar: cannot set up gzip"));
    }
  }
  if (archive_write_open2(a.get(), &out, nullptr, &append_to_string, nullptr, nullptr) !=
      ARCHIVE_OK) {
    return Status::Internal(archive_message(a.get(), "tar: cannot open the writer"));
  }
  CENV_RETURN_IF_ERROR(write_entries(a.get(), tree));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Status::Internal(archive_message(a.get(), "tar: cannot finish the archive"));
  }
  return out;
}

Result<FileTree> read_tar(std::string_view bytes, const SourceLimits& limits) {
  const uint64_t bound =
      limits.max_total_bytes + limits.max_files * kTarOverheadPerFile + kTarOverheadFixed;
  Result<std::string> plain = decompress_bounded(bytes, bound);
  if (!plain.ok()) return plain.status();
  if (plain->empty()) return Status::Invalid("tar: the archive is empty");

  ArchivePtr a(archive_read_new(), &archive_read_free);
  if (archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_open_memory(a.get(), plain->data(), plain->size()) != ARCHIVE_OK) {
    return Status::Invalid(archive_message(a.get(), "tar: not a tar archive"));
  }
  BoundedTree tree(limits, "tar entry");
  CENV_RETURN_IF_ERROR(read_entries(a.get(), tree));
  return std::move(tree).finish();
}

}  // namespace cenv::modules
