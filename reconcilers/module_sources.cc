#include "reconcilers/module_sources.h"

#include <algorithm>
#include <vector>

#include "api/json_fields.h"
#include "modules/file_tree.h"
#include "modules/manifest.h"
#include "modules/tar_archive.h"

namespace cenv {

namespace json = boost::json;

namespace {

// Writes `v` as JSON with every object's keys in byte order, so the encoding does not depend
// on the order the keys were written in.
void write_canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    const json::object& o = v.get_object();
    std::vector<std::string_view> keys;
    keys.reserve(o.size());
    for (const auto& member : o) keys.emplace_back(member.key());
    std::sort(keys.begin(), keys.end());
    out += '{';
    bool first = true;
    for (std::string_view k : keys) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::value(k));
      out += ':';
      write_canonical(o.at(k), out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const json::value& item : v.get_array()) {
      if (!first) out += ',';
      first = false;
      write_canonical(item, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

// "Module \"name\": <field>: <message>", carrying the field.
Status field_error(Code code, const Object& module, const std::string& field,
                   const std::string& message) {
  std::string text = "Module \"" + std::string(module.name()) + "\": " + field + ": " + message;
  return Status(code, std::move(text), {{field, message}});
}

// The field of spec.source.git a GitFetcher error is about, from its code and message (the
// seam reports the redacted URL and what failed, not a field path).
std::string git_error_field(const Status& s) {
  const std::string& m = s.message();
  if (m.rfind("git subdir", 0) == 0 || m.find(": subdir \"") != std::string::npos) {
    return "spec.source.git.subdir";
  }
  if (s.code() == Code::kUnavailable) return "spec.source.git.url";
  if (s.code() == Code::kNotFound || m.rfind("git ref", 0) == 0) return "spec.source.git.ref";
  if (m.rfind("git url", 0) == 0) return "spec.source.git.url";
  return "spec.source.git";
}

// The files' manifest, its errors naming the Module (the manifest reader names the file).
// Files without a manifest are no module: Invalid, as a bad manifest (not NotFound, which
// says the source itself is missing and may appear later).
Result<modules::ModuleManifest> manifest_of(const Object& module, const modules::FileTree& files,
                                            const std::string& source) {
  auto manifest = modules::manifest_from_tree(files, source);
  if (!manifest.ok()) {
    const Status& s = manifest.status();
    Status out(s.code() == Code::kNotFound ? Code::kInvalid : s.code(), s.message(), s.fields());
    return out.with_prefix("Module \"" + std::string(module.name()) + "\"");
  }
  return manifest;
}

uint64_t result_bytes(const Result<FetchedModule>& r) {
  return r.ok() ? r->files.total_bytes() : 0;
}

}  // namespace

std::string inline_module_revision(const Object& module) {
  json::object spec;
  if (const json::object* s = module.spec_or_null()) spec = *s;
  spec.erase("options");
  std::string canonical;
  write_canonical(spec, canonical);
  return "sha256:" + modules::sha256_hex(canonical);
}

ModuleSources::ModuleSources(ArchiveReader& archives, modules::GitFetcher& git,
                             BuildRequests build_requests, Options options)
    : archives_(archives),
      git_(git),
      build_requests_(std::move(build_requests)),
      options_(options) {}

uint64_t ModuleSources::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

Result<FetchedModule> ModuleSources::read_archive(const Object& module,
                                                  const json::object& source) {
  const std::string digest(string_field(source, "digest"));
  const std::string path(string_field(source, "path"));
  if (digest.empty()) {
    return field_error(Code::kInvalid, module, "spec.source.digest",
                       "Required value: spec.source.path " + path +
                           " reaches the controller packed by `cenv apply`, which sets the "
                           "digest; apply the Module with cenv apply -f");
  }
  auto bytes = archives_.get_archive(digest);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return field_error(Code::kNotFound, module, "spec.source.digest",
                         "Not found: no archive " + digest +
                             " was uploaded; apply the Module again with cenv apply -f");
    }
    return field_error(bytes.status().code(), module, "spec.source.digest",
                       "cannot read archive " + digest + ": " + bytes.status().message());
  }
  auto files = modules::read_tar(bytes.value(), options_.limits);
  if (!files.ok()) {
    return field_error(Code::kInvalid, module, "spec.source.digest",
                       "archive " + digest + ": " + files.status().message());
  }
  const std::string actual = modules::tree_digest(files.value());
  if (actual != digest) {
    return field_error(
        Code::kInvalid, module, "spec.source.digest",
        "Invalid value: the archive's files have digest " + actual + ", not " + digest);
  }
  auto manifest = manifest_of(module, files.value(), path.empty() ? digest : path);
  if (!manifest.ok()) return manifest.status();
  return FetchedModule{digest, std::move(manifest).value(), std::move(files).value()};
}

Result<FetchedModule> ModuleSources::read_git(const Object& module, const json::object& git) {
  modules::GitSourceSpec spec{std::string(string_field(git, "url")),
                              std::string(string_field(git, "ref")),
                              std::string(string_field(git, "subdir"))};
  // The CRD defaults ref to main; an object written past the API may lack it.
  if (spec.ref.empty()) spec.ref = "main";
  auto checkout = git_.fetch(spec);
  if (!checkout.ok()) {
    const Status& s = checkout.status();
    return field_error(s.code(), module, git_error_field(s), s.message());
  }
  // Named as git names a path at a commit: "<url> <ref>:<subdir>/cenv-module.yaml".
  std::string source = modules::redact_url(spec.url) + " " + spec.ref + ":" +
                       (spec.subdir.empty() ? std::string(".") : spec.subdir);
  auto manifest = manifest_of(module, checkout->files, source);
  if (!manifest.ok()) return manifest.status();
  return FetchedModule{std::move(checkout->commit), std::move(manifest).value(),
                       std::move(checkout->files)};
}

Result<FetchedModule> ModuleSources::read_inline(const Object& module) {
  auto manifest = modules::manifest_from_inline(module);
  if (!manifest.ok()) return manifest.status();
  return FetchedModule{inline_module_revision(module), std::move(manifest).value(), {}};
}

Result<FetchedModule> ModuleSources::read(const Object& module) {
  {
    std::lock_guard lock(mu_);
    ++reads_;
  }
  const json::object* source = object_field(module.spec_or_null(), "source");
  if (!source) return read_inline(module);
  if (const json::object* git = object_field(*source, "git")) return read_git(module, *git);
  if (value_field(*source, "path") || value_field(*source, "digest")) {
    return read_archive(module, *source);
  }
  return field_error(Code::kInvalid, module, "spec.source", "Required value: one of path or git");
}

std::shared_ptr<ModuleSources::Slot> ModuleSources::slot(const std::string& uid) {
  std::lock_guard lock(mu_);
  std::shared_ptr<Slot>& s = slots_[uid];
  if (!s) s = std::make_shared<Slot>();
  s->last_use = ++clock_;
  return s;
}

void ModuleSources::account(const std::string& uid, const std::shared_ptr<Slot>& keep,
                            uint64_t bytes) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(uid);
  // Dropped meanwhile by another Module's accounting: the result is not cached.
  if (it == slots_.end() || it->second != keep) return;
  total_bytes_ = total_bytes_ - keep->bytes + bytes;
  keep->bytes = bytes;
  while (slots_.size() > 1 &&
         (slots_.size() > options_.max_entries || total_bytes_ > options_.max_bytes)) {
    auto oldest = slots_.end();
    for (auto s = slots_.begin(); s != slots_.end(); ++s) {
      if (s->second == keep) continue;
      if (oldest == slots_.end() || s->second->last_use < oldest->second->last_use) oldest = s;
    }
    if (oldest == slots_.end()) break;
    total_bytes_ -= oldest->second->bytes;
    slots_.erase(oldest);
  }
}

Result<FetchedModule> ModuleSources::fetch(const Object& module) {
  const std::string uid(module.uid());
  if (uid.empty()) return read(module);  // not stored yet: nothing identifies it across calls
  const json::object* source = object_field(module.spec_or_null(), "source");
  const bool git = source && object_field(*source, "git");
  const std::string build_request =
      git && build_requests_ ? build_requests_(module.ns()) : std::string();

  std::shared_ptr<Slot> s = slot(uid);
  std::lock_guard fetching(s->mu);
  if (s->filled && s->generation == module.generation() && s->build_request == build_request) {
    return *s->result;
  }
  Result<FetchedModule> result = read(module);
  const bool cacheable = result.ok() || result.status().code() == Code::kInvalid;
  s->filled = cacheable;
  s->generation = module.generation();
  s->build_request = build_request;
  if (cacheable) {
    s->result = result;
  } else {
    s->result.reset();
  }
  account(uid, s, cacheable ? result_bytes(result) : 0);
  return result;
}

}  // namespace cenv
