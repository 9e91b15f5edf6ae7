#include "cli/manifest_reader.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "api/display_text.h"
#include "api/manifest_objects.h"

namespace cenv::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// `dir`: the directory the documents' relative paths (spec.source.path) are relative to.
Status add_documents(std::vector<Document> docs, const std::string& path, const fs::path& dir,
                     std::vector<ManifestObject>* out) {
  auto objects = manifest_objects(std::move(docs), path);
  if (!objects.ok()) return objects.status();
  for (SourcedObject& o : objects.value()) {
    out->push_back({std::move(o.object), std::move(o.source), dir});
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ManifestObject>> read_manifests(const std::vector<std::string>& paths,
                                                   bool recursive, const ParseLimits& limits) {
  std::vector<ManifestObject> out;
  for (const std::string& path : paths) {
    if (path == "-") {
      std::string text;
      char buf[65536];
      while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
        text.append(buf, static_cast<size_t>(std::cin.gcount()));
        if (text.size() > limits.max_bytes) {
          return Status::Invalid("<stdin>: input is larger than the limit of " +
                                 std::to_string(limits.max_bytes) + " bytes");
        }
      }
      auto docs = parse_manifest(text, "<stdin>", limits);
      if (!docs.ok()) return docs.status();
      CENV_RETURN_IF_ERROR(add_documents(std::move(docs).value(), "<stdin>", ".", &out));
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      auto collect = [&](auto iterator) {
        for (const auto& entry : iterator) {
          if (entry.is_regular_file() && is_manifest_file_name(entry.path().string())) {
            files.push_back(entry.path());
          }
        }
      };
      if (recursive) {
        collect(fs::recursive_directory_iterator(path, ec));
      } else {
        collect(fs::directory_iterator(path, ec));
      }
      if (ec) return Status::Invalid(escape_for_display(path) + ": " + ec.message());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        auto docs = read_manifest_file(f.string(), limits);
        if (!docs.ok()) return docs.status();
        CENV_RETURN_IF_ERROR(
            add_documents(std::move(docs).value(), f.string(), f.parent_path(), &out));
      }
      continue;
    }
    auto docs = read_manifest_file(path, limits);
    if (!docs.ok()) return docs.status();
    if (docs->empty())
      return Status::Invalid(escape_for_display(path) + ": no objects in the file");
    CENV_RETURN_IF_ERROR(add_documents(
        std::move(docs).value(), path,
        fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path(), &out));
  }
  if (out.empty()) return Status::Invalid("no objects passed");
  return out;
}

}  // namespace cenv::cli
