#include "modules/folder_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace cenv::modules {

namespace fs = std::filesystem;

namespace {

constexpr const char* kModuleManifest = "cenv-module.yaml";

// True when `inner` is `outer` or below it; both canonical.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto in = inner.begin();
  for (const fs::path& part : outer) {
    if (in == inner.end() || *in != part) return false;
    ++in;
  }
  return true;
}

std::string describe_type(fs::file_type type) {
  switch (type) {
    case fs::file_type::fifo:
      return "is a fifo";
    case fs::file_type::socket:
      return "is a socket";
    case fs::file_type::block:
    case fs::file_type::character:
      return "is a device";
    case fs::file_type::directory:
      return "is a directory";
    default:
      return "is not a regular file";
  }
}

bool is_executable(fs::perms p) {
  return (p & (fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec)) !=
         fs::perms::none;
}

// Reads at most `allowed` bytes of `file`; more is Invalid (the file grew after its size was
// admitted, or is not what its size said).
Status read_bounded(const fs::path& file, const std::string& rel, uint64_t allowed,
                    std::string& out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Invalid("file \"" + rel + "\": cannot open " + file.string() + ": " +
                           std::strerror(errno));
  }
  char buf[64 * 1024];
  Status result;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Status::Invalid("file \"" + rel + "\": cannot read " + file.string() + ": " +
                               std::strerror(errno));
      break;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > allowed) {
      result = Status::Invalid("file \"" + rel + "\" grew beyond the size limits while read");
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return result;
}

// Walks a module folder, filling a BoundedTree.
class FolderWalker {
 public:
  FolderWalker(fs::path root, const SourceLimits& limits)
      : root_(std::move(root)), limits_(limits), tree_(limits, "file") {}

  Result<FileTree> walk() {
    std::vector<std::pair<fs::path, std::string>> dirs = {{root_, ""}};
    while (!dirs.empty()) {
      auto [dir, rel_dir] = std::move(dirs.back());
      dirs.pop_back();
      std::error_code ec;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name == ".git") continue;
        const std::string rel =
            rel_dir.empty() ? name : std::string(rel_dir).append("/").append(name);
        const fs::file_status st = it->symlink_status(ec);
        if (ec) break;
        if (st.type() == fs::file_type::directory) {
          // Directories are bounded too (as many as files may be), so a tree of empty
          // directories cannot keep the walk busy.
          if (++directories_ > limits_.max_files) {
            return Status::Invalid("module folder " + root_.string() + " has more than " +
                                   std::to_string(limits_.max_files) + " directories");
          }
          dirs.emplace_back(it->path(), rel);
          continue;
        }
        CENV_RETURN_IF_ERROR(add_entry(it->path(), rel, st));
      }
      if (ec) {
        return Status::Invalid("module folder: cannot read " + dir.string() + ": " + ec.message());
      }
    }
    return std::move(tree_).finish();
  }

 private:
  Status add_entry(const fs::path& path, const std::string& rel, const fs::file_status& st) {
    if (st.type() == fs::file_type::regular) return add_file(path, rel, st.permissions());
    if (st.type() != fs::file_type::symlink) {
      return Status::Invalid("file \"" + rel + "\" " + describe_type(st.type()));
    }
    std::error_code ec;
    const fs::path target = fs::canonical(path, ec);
    if (ec) {
      return Status::Invalid("symbolic link \"" + rel + "\" to " +
                             fs::read_symlink(path, ec).string() + " dangles");
    }
    if (!is_within(target, root_)) {
      return Status::Invalid("symbolic link \"" + rel + "\" points to " + target.string() +
                             ", outside the module folder " + root_.string());
    }
    const fs::file_status target_st = fs::status(target, ec);
    if (ec || target_st.type() != fs::file_type::regular) {
      return Status::Invalid("symbolic link \"" + rel + "\" points to " + target.string() +
                             ", which " + describe_type(target_st.type()));
    }
    return add_file(target, rel, target_st.permissions());
  }

  Status add_file(const fs::path& file, const std::string& rel, fs::perms perms) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(file, ec);
    if (ec) return Status::Invalid("file \"" + rel + "\": " + ec.message());
    CENV_RETURN_IF_ERROR(tree_.admit(rel, size));
    std::string data;
    data.reserve(size);
    CENV_RETURN_IF_ERROR(read_bounded(file, rel, tree_.remaining_for_one_file(), data));
    return tree_.add(rel, std::move(data), is_executable(perms));
  }

  fs::path root_;
  SourceLimits limits_;
  BoundedTree tree_;
  uint64_t directories_ = 0;
};

}  // namespace

Result<fs::path> resolve_module_path(const fs::path& manifest_dir, std::string_view path_field) {
  const std::string field = "spec.source.path \"" + std::string(path_field) + "\"";
  if (path_field.empty()) return Status::Invalid(field + ": is empty");
  std::error_code ec;
  const fs::path base = fs::canonical(manifest_dir, ec);
  if (ec) {
    return Status::NotFound(field + ": the manifest's directory " + manifest_dir.string() +
                            " cannot be resolved: " + ec.message());
  }
  // weakly_canonical resolves '..' and every symbolic link of the part that exists, so a
  // path that escapes is refused whether or not its end exists.
  const fs::path resolved = fs::weakly_canonical(base / fs::path(path_field), ec);
  if (ec) return Status::Invalid(field + ": cannot be resolved: " + ec.message());
  if (!is_within(resolved, base)) {
    return Status::Invalid(field + ": resolves outside the manifest's directory " + base.string());
  }
  const fs::file_status st = fs::status(resolved, ec);
  if (st.type() == fs::file_type::not_found) {
    return Status::NotFound(field + ": " + resolved.string() + " does not exist");
  }
  if (st.type() != fs::file_type::directory) {
    return Status::Invalid(field + ": " + resolved.string() + " is not a directory");
  }
  const fs::file_status manifest = fs::status(resolved / kModuleManifest, ec);
  if (manifest.type() != fs::file_type::regular) {
    return Status::NotFound(field + ": " + resolved.string() + " holds no " + kModuleManifest);
  }
  return resolved;
}

Result<FileTree> read_folder(const fs::path& root, const SourceLimits& limits) {
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return Status::NotFound("module folder " + root.string() + ": " + ec.message());
  if (!fs::is_directory(base, ec)) {
    return Status::Invalid("module folder " + root.string() + " is not a directory");
  }
  return FolderWalker(base, limits).walk();
}

}  // namespace cenv::modules
