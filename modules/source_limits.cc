#include "modules/source_limits.h"

#include <algorithm>
#include <utility>

namespace cenv::modules {

namespace {

std::string quoted(std::string_view path) {
  return "\"" + std::string(path.substr(0, 256)) + (path.size() > 256 ? "...\"" : "\"");
}

}  // namespace

BoundedTree::BoundedTree(const SourceLimits& limits, std::string what)
    : limits_(limits), what_(std::move(what)) {}

Status BoundedTree::admit(std::string_view path, uint64_t size) const {
  Status s = check_tree_path(path);
  if (!s.ok()) return Status::Invalid(what_ + " " + s.message());
  const std::string name = what_ + " " + quoted(path);
  if (tree_.files.count(std::string(path)) != 0) return Status::Invalid(name + " appears twice");
  if (tree_.files.size() + 1 > limits_.max_files) {
    return Status::Invalid(name + ": the source has more than " +
                           std::to_string(limits_.max_files) + " files (the limit)");
  }
  if (size > limits_.max_file_bytes) {
    return Status::Invalid(name + " is " + std::to_string(size) + " bytes, more than the " +
                           std::to_string(limits_.max_file_bytes) + " a file may have");
  }
  if (size > limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes)) {
    return Status::Invalid(name + ": the source holds more than " +
                           std::to_string(limits_.max_total_bytes) + " bytes (the limit)");
  }
  return Status::Ok();
}

Status BoundedTree::add(std::string path, std::string data, bool executable) {
  CENV_RETURN_IF_ERROR(admit(path, data.size()));
  total_bytes_ += data.size();
  tree_.files.emplace(std::move(path), FileEntry{std::move(data), executable});
  return Status::Ok();
}

uint64_t BoundedTree::remaining_for_one_file() const {
  const uint64_t left = limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes);
  return std::min(left, limits_.max_file_bytes);
}

Result<FileTree> BoundedTree::finish() && {
  for (const auto& [path, entry] : tree_.files) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      if (tree_.files.count(parent) != 0) {
        return Status::Invalid(what_ + " " + quoted(parent) +
                               " is a file and also the directory of " + quoted(path));
      }
    }
  }
  return std::move(tree_);
}

}  // namespace cenv::modules
