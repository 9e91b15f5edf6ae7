#include "modules/git_source.h"

#include <fcntl.h>
#include <git2.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "modules/git_deadline_stream.h"

namespace cenv::modules {

namespace fs = std::filesystem;

namespace {

struct GitFree {
  void operator()(git_repository* p) const { git_repository_free(p); }
  void operator()(git_remote* p) const { git_remote_free(p); }
  void operator()(git_reference* p) const { git_reference_free(p); }
  void operator()(git_reference_iterator* p) const { git_reference_iterator_free(p); }
  void operator()(git_object* p) const { git_object_free(p); }
  void operator()(git_commit* p) const { git_commit_free(p); }
  void operator()(git_tree* p) const { git_tree_free(p); }
  void operator()(git_tree_entry* p) const { git_tree_entry_free(p); }
  void operator()(git_blob* p) const { git_blob_free(p); }
  void operator()(git_odb* p) const { git_odb_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, GitFree>;

constexpr size_t kRefsListed = 10;

std::string last_git_error() {
  const git_error* e = git_error_last();
  return e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error";
}

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

// Where a scheme URL's userinfo lies: [first, second) before the '@' of its authority.
std::optional<std::pair<size_t, size_t>> userinfo_span(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const size_t start = scheme_end + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", start), url.size());
  const size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::nullopt;
  return std::make_pair(start, at);
}

// libgit2's messages may quote the URL or its userinfo; keep the userinfo out of them.
std::string redact_in(std::string text, std::string_view url) {
  const auto span = userinfo_span(url);
  if (!span || span->second == span->first) return text;
  const std::string shown = redact_url(url);
  for (size_t at = text.find(url); at != std::string::npos; at = text.find(url, at)) {
    text.replace(at, url.size(), shown);
    at += shown.size();
  }
  const std::string userinfo(url.substr(span->first, span->second - span->first));
  for (size_t at = text.find(userinfo); at != std::string::npos; at = text.find(userinfo, at)) {
    text.replace(at, userinfo.size(), "***");
    at += 3;
  }
  return text;
}

// ssh always authenticates, so it needs a private key, and a libgit2 that speaks ssh.
Status check_url(const GitSourceSpec& spec, const std::string& shown) {
  const std::string_view url = spec.url;
  if (url.empty()) return Status::Invalid("git url is empty");
  if (is_ssh_url(url)) {
    if (spec.credentials.ssh_private_key.empty()) {
      return Status::Invalid("git url " + shown +
                             ": ssh needs a private key (an Environment source's secretRef); "
                             "without one use https://, http://, git://, file:// or a local "
                             "path");
    }
    if (!git_supports_ssh()) {
      return Status::Invalid("git url " + shown +
                             ": this controller's libgit2 was built without ssh; use https:// "
                             "with a token");
    }
    return Status::Ok();
  }
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return Status::Ok();  // a local path
  const std::string_view scheme = url.substr(0, scheme_end);
  for (std::string_view ok : {"https", "http", "git", "file"}) {
    if (scheme == ok) return Status::Ok();
  }
  return Status::Invalid("git url " + shown + ": scheme \"" + std::string(scheme) +
                         "\" is not supported; use https://, http://, ssh://, git://, file:// "
                         "or a local path");
}

// "" for the root; otherwise the subdir as a tree path without leading or trailing '/'.
Result<std::string> normalize_subdir(std::string_view subdir) {
  while (!subdir.empty() && subdir.front() == '/') subdir.remove_prefix(1);
  while (!subdir.empty() && subdir.back() == '/') subdir.remove_suffix(1);
  if (subdir.empty() || subdir == ".") return std::string();
  Status s = check_tree_path(subdir);
  if (!s.ok()) return Status::Invalid("git subdir: " + s.message());
  return std::string(subdir);
}

// An exclusive flock on the mirror's lock file, held for one fetch. flock locks belong to an
// open file description, so two threads of one process exclude each other as two processes do.
class MirrorLock {
 public:
  // Without waiting: nullptr when another fetch holds it (or it cannot be opened).
  static std::unique_ptr<MirrorLock> try_acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return nullptr;
    auto lock = std::unique_ptr<MirrorLock>(new MirrorLock(fd));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return nullptr;
    return lock;
  }
  static Result<std::unique_ptr<MirrorLock>> acquire(const fs::path& path,
                                                     GitClock::time_point deadline,
                                                     const std::string& shown) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Status::Unavailable("git " + shown + ": cannot open the cache lock " + path.string() +
                                 ": " + std::strerror(errno));
    }
    auto lock = std::unique_ptr<MirrorLock>(new MirrorLock(fd));
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        return Status::Unavailable("git " + shown + ": cannot lock " + path.string() + ": " +
                                   std::strerror(errno));
      }
      // Another fetch of the same URL holds the mirror; flock has no timed wait, so poll.
      if (GitClock::now() >= deadline) {
        return Status::Unavailable("git " + shown +
                                   ": another fetch of this URL held the cache past the deadline");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return lock;
  }
  ~MirrorLock() { ::close(fd_); }  // closing releases the flock
  MirrorLock(const MirrorLock&) = delete;
  MirrorLock& operator=(const MirrorLock&) = delete;

 private:
  explicit MirrorLock(int fd) : fd_(fd) {}
  int fd_;
};

// Opens the bare mirror at `path`, creating it (0700) when missing or unreadable; `created`
// says which.
Result<Owned<git_repository>> open_mirror(const fs::path& path, const std::string& shown,
                                          bool& created) {
  git_repository* raw = nullptr;
  std::error_code ec;
  created = false;
  if (fs::exists(path, ec) && git_repository_open_bare(&raw, path.c_str()) == 0) {
    return Owned<git_repository>(raw);
  }
  created = true;
  // A missing or damaged mirror is rebuilt from scratch: it is only a cache.
  fs::remove_all(path, ec);
  if (git_repository_init(&raw, path.c_str(), /*is_bare=*/1) != 0) {
    return Status::Unavailable("git " + shown + ": cannot create the mirror " + path.string() +
                               ": " + last_git_error());
  }
  fs::permissions(path, fs::perms::owner_all, ec);
  return Owned<git_repository>(raw);
}

struct FetchProgress {
  GitClock::time_point deadline{};
  uint64_t max_received_bytes = 0;
  const GitCredentials* credentials = nullptr;
  bool timed_out = false;
  bool too_big = false;
  int credential_asks = 0;         // times the server asked for credentials
  bool no_credentials = false;     // it asked, and there were none of the kind it takes
  std::string untrusted_host_key;  // "ssh-ed25519 SHA256:..." of a refused ssh host key
};

// Padded base64 (as known_hosts writes key blobs), or unpadded (as ssh shows fingerprints).
std::string base64(const unsigned char* bytes, size_t size, bool pad) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  while (!pad && !out.empty() && out.back() == '=') out.pop_back();
  return out;
}

const char* ssh_key_type(git_cert_ssh_raw_type_t type) {
  switch (type) {
    case GIT_CERT_SSH_RAW_TYPE_RSA:
      return "ssh-rsa";
    case GIT_CERT_SSH_RAW_TYPE_DSS:
      return "ssh-dss";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
      return "ecdsa-sha2-nistp256";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
      return "ecdsa-sha2-nistp384";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
      return "ecdsa-sha2-nistp521";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
      return "ssh-ed25519";
    default:
      return "ssh";
  }
}

// Whether the known_hosts `lines` list the key blob `blob` (base64) of type `type`.
bool known_host_key(std::string_view lines, std::string_view type, std::string_view blob) {
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = std::min(lines.find('\n', start), lines.size());
    std::string_view line = lines.substr(start, end - start);
    start = end + 1;
    // [marker] hosts keytype key [comment]
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size() && fields.size() < 4) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty() || fields[0].starts_with("#")) continue;
    if (fields[0] == "@revoked") continue;
    size_t at = fields[0].starts_with("@") ? 2 : 1;  // past the marker and the hosts
    if (fields.size() > at + 1 && fields[at] == type && fields[at + 1] == blob) return true;
  }
  return false;
}

// An ssh server's host key must be one of credentials.ssh_known_hosts; other certificates
// (https) are left to libgit2's own checks.
int on_certificate(git_cert* cert, int /*valid*/, const char* /*host*/, void* payload) {
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  auto* p = static_cast<FetchProgress*>(payload);
  const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
  const std::string type = ssh_key_type(key->raw_type);
  if ((key->type & GIT_CERT_SSH_RAW) &&
      known_host_key(p->credentials->ssh_known_hosts, type,
                     base64(reinterpret_cast<const unsigned char*>(key->hostkey), key->hostkey_len,
                            /*pad=*/true))) {
    return 0;
  }
  p->untrusted_host_key = type;
  if (key->type & GIT_CERT_SSH_SHA256) {
    p->untrusted_host_key += " SHA256:" + base64(key->hash_sha256, sizeof key->hash_sha256,
                                                 /*pad=*/false);
  }
  return GIT_ECERTIFICATE;
}

// Offers the fetch's credentials once; a second ask means the server refused them.
int on_credentials(git_credential** out, const char* /*url*/, const char* username_from_url,
                   unsigned int allowed, void* payload) {
  auto* p = static_cast<FetchProgress*>(payload);
  const GitCredentials& c = *p->credentials;
  std::string user = !c.username.empty()                                  ? c.username
                     : username_from_url != nullptr && *username_from_url ? username_from_url
                                                                          : "git";
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
  if (++p->credential_asks > 1) return GIT_EUSER;
  if ((allowed & GIT_CREDENTIAL_SSH_MEMORY) && !c.ssh_private_key.empty()) {
    return git_credential_ssh_key_memory_new(out, user.c_str(), nullptr, c.ssh_private_key.c_str(),
                                             "");
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !c.token.empty()) {
    return git_credential_userpass_plaintext_new(out, user.c_str(), c.token.c_str());
  }
  p->no_credentials = true;
  return GIT_EUSER;
}

int on_transfer_progress(const git_indexer_progress* stats, void* payload) {
  auto* p = static_cast<FetchProgress*>(payload);
  if (GitClock::now() >= p->deadline) {
    p->timed_out = true;
    return GIT_EUSER;
  }
  if (stats->received_bytes > p->max_received_bytes) {
    p->too_big = true;
    return GIT_EUSER;
  }
  return 0;
}

int on_sideband_progress(const char*, int, void* payload) {
  auto* p = static_cast<FetchProgress*>(payload);
  if (GitClock::now() < p->deadline) return 0;
  p->timed_out = true;
  return GIT_EUSER;
}

// Fetches every branch and tag of `url` into the mirror, pruning what the remote deleted.
Status fetch_into(git_repository* repo, const std::string& url, const std::string& shown,
                  FetchProgress& progress, std::chrono::milliseconds budget) {
  git_remote* raw = nullptr;
  git_remote_create_options create;
  git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  create.repository = repo;
  // An anonymous remote; url.<base>.insteadOf of the user's git config is not applied: the
  // URL fetched is the one the Module names (and libgit2 1.5 leaks a regex match block on
  // every insteadOf lookup).
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  if (git_remote_create_with_opts(&raw, url.c_str(), &create) != 0) {
    return Status::Invalid("git url " + shown + ": " + redact_in(last_git_error(), url));
  }
  Owned<git_remote> remote(raw);
  git_fetch_options opts;
  git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
  opts.prune = GIT_FETCH_PRUNE;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the refspecs below take every tag
  opts.update_fetchhead = 0;
  opts.callbacks.transfer_progress = &on_transfer_progress;
  opts.callbacks.sideband_progress = &on_sideband_progress;
  opts.callbacks.credentials = &on_credentials;
  opts.callbacks.certificate_check = &on_certificate;
  opts.callbacks.payload = &progress;
  char heads[] = "+refs/heads/*:refs/heads/*";
  char tags[] = "+refs/tags/*:refs/tags/*";
  char* specs[] = {heads, tags};
  const git_strarray refspecs{specs, 2};
  if (git_remote_fetch(remote.get(), &refspecs, &opts, "cenv fetch") == 0) return Status::Ok();

  const std::string cause = redact_in(last_git_error(), url);
  if (progress.too_big) {
    return Status::Unavailable("git " + shown + ": the fetch received more than " +
                               std::to_string(progress.max_received_bytes) + " bytes (the limit)");
  }
  if (!progress.untrusted_host_key.empty()) {
    return Status::Unavailable(
        "git " + shown + ": the ssh server's host key (" + progress.untrusted_host_key +
        ") is not in spec.source.git.knownHosts; if it is the server's, add the line "
        "`ssh-keyscan [-p PORT] HOST` prints for it");
  }
  if (progress.no_credentials) {
    return Status::Unavailable("git " + shown +
                               ": the server asks for credentials and none were given (a "
                               "token for http(s), a private key for ssh)");
  }
  if (progress.credential_asks > 1) {
    // The second ask is refused with GIT_EUSER, for which libgit2 has no message of its own.
    const bool told = !cause.empty() && cause != "unknown libgit2 error";
    return Status::Unavailable("git " + shown +
                               ": authentication failed: the server refused the credentials "
                               "given" +
                               (told ? ": " + cause : std::string()));
  }
  if (progress.timed_out || GitClock::now() >= progress.deadline) {
    return Status::Unavailable("git " + shown + ": the fetch did not finish within " +
                               std::to_string(budget.count()) + " ms: " + cause);
  }
  return Status::Unavailable("git " + shown + ": cannot fetch: " + cause);
}

// Up to kRefsListed short names of the references under `prefix` ("refs/heads/"), sorted.
std::string list_refs(git_repository* repo, const std::string& prefix) {
  git_reference_iterator* raw = nullptr;
  std::vector<std::string> names;
  if (git_reference_iterator_glob_new(&raw, repo, (prefix + "*").c_str()) == 0) {
    Owned<git_reference_iterator> it(raw);
    const char* name = nullptr;
    while (git_reference_next_name(&name, it.get()) == 0) names.push_back(name + prefix.size());
  }
  if (names.empty()) return "none";
  std::sort(names.begin(), names.end());
  std::string out;
  for (size_t i = 0; i < names.size() && i < kRefsListed; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kRefsListed) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// The commit a reference named `full_name` points to (tags peeled); nullptr if no such ref.
Result<Owned<git_commit>> commit_of_ref(git_repository* repo, const std::string& full_name,
                                        const std::string& ref, const std::string& shown) {
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo, full_name.c_str()) != 0) return Owned<git_commit>();
  Owned<git_reference> reference(raw);
  git_object* peeled = nullptr;
  if (git_reference_peel(&peeled, reference.get(), GIT_OBJECT_COMMIT) != 0) {
    return Status::Invalid("git ref \"" + ref + "\" in " + shown + " (" + full_name +
                           ") does not point to a commit");
  }
  return Owned<git_commit>(reinterpret_cast<git_commit*>(peeled));
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// A branch, then a tag, then a full or abbreviated commit id ("refs/..." names one exactly).
Result<Owned<git_commit>> resolve_ref(git_repository* repo, const std::string& ref,
                                      const std::string& shown) {
  std::vector<std::string> names;
  if (ref.rfind("refs/", 0) == 0) {
    names = {ref};
  } else {
    names = {"refs/heads/" + ref, "refs/tags/" + ref};
  }
  for (const std::string& name : names) {
    Result<Owned<git_commit>> c = commit_of_ref(repo, name, ref, shown);
    if (!c.ok() || *c != nullptr) return c;
  }
  if (ref.size() >= GIT_OID_MINPREFIXLEN && ref.size() <= GIT_OID_HEXSZ && is_hex(ref)) {
    git_oid oid;
    git_object* obj = nullptr;
    if (git_oid_fromstrn(&oid, ref.c_str(), ref.size()) == 0) {
      int rc = git_object_lookup_prefix(&obj, repo, &oid, ref.size(), GIT_OBJECT_COMMIT);
      if (rc == 0) return Owned<git_commit>(reinterpret_cast<git_commit*>(obj));
      if (rc == GIT_EAMBIGUOUS) {
        return Status::Invalid("git ref \"" + ref + "\" in " + shown +
                               " is ambiguous: several objects start with it; give more digits");
      }
    }
  }
  return Status::NotFound("git ref \"" + ref + "\" not found in " + shown +
                          "; branches: " + list_refs(repo, "refs/heads/") +
                          "; tags: " + list_refs(repo, "refs/tags/"));
}

// Reads one Git tree into `out` under `prefix`, recursively.
class TreeReader {
 public:
  TreeReader(git_repository* repo, git_odb* odb, const SourceLimits& limits, std::string where)
      : repo_(repo),
        odb_(odb),
        limits_(limits),
        where_(std::move(where)),
        out_(limits, "git tree entry") {}

  Status read(const git_tree* tree, const std::string& prefix) {
    const size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree, i);
      const std::string name = git_tree_entry_name(e);
      const std::string rel = prefix.empty() ? name : std::string(prefix).append("/").append(name);
      switch (git_tree_entry_filemode(e)) {
        case GIT_FILEMODE_TREE: {
          // Directories are bounded too (as many as files may be), so a tree of empty
          // directories cannot keep the reader busy.
          if (++directories_ > limits_.max_files) {
            return Status::Invalid(where_ + ": the tree has more than " +
                                   std::to_string(limits_.max_files) + " directories");
          }
          git_tree* sub = nullptr;
          if (git_tree_lookup(&sub, repo_, git_tree_entry_id(e)) != 0) {
            return Status::Unavailable(where_ + ": cannot read \"" + rel +
                                       "\": " + last_git_error());
          }
          Owned<git_tree> owned(sub);
          CENV_RETURN_IF_ERROR(read(owned.get(), rel));
          break;
        }
        case GIT_FILEMODE_BLOB:
        case GIT_FILEMODE_BLOB_EXECUTABLE:
          CENV_RETURN_IF_ERROR(read_blob(e, rel));
          break;
        case GIT_FILEMODE_LINK:
          return Status::Invalid(where_ + ": \"" + rel +
                                 "\" is a symbolic link; module sources must hold regular files");
        case GIT_FILEMODE_COMMIT:
          return Status::Invalid(where_ + ": \"" + rel +
                                 "\" is a submodule; submodules are not fetched");
        default:
          return Status::Invalid(where_ + ": \"" + rel + "\" has an unsupported file mode");
      }
    }
    return Status::Ok();
  }

  Result<FileTree> finish() && {
    Result<FileTree> tree = std::move(out_).finish();
    if (!tree.ok()) return tree.status().with_prefix(where_);
    return tree;
  }

 private:
  Status read_blob(const git_tree_entry* e, const std::string& rel) {
    // The header gives the size without inflating the blob, so a huge one is refused unread.
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_odb_read_header(&size, &type, odb_, git_tree_entry_id(e)) != 0) {
      return Status::Unavailable(where_ + ": cannot read \"" + rel + "\": " + last_git_error());
    }
    Status admitted = out_.admit(rel, size);
    if (!admitted.ok()) return admitted.with_prefix(where_);
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo_, git_tree_entry_id(e)) != 0) {
      return Status::Unavailable(where_ + ": cannot read \"" + rel + "\": " + last_git_error());
    }
    Owned<git_blob> blob(raw);
    std::string data(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
    const bool executable = git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE;
    Status added = out_.add(rel, std::move(data), executable);
    return added.ok() ? added : added.with_prefix(where_);
  }

  git_repository* repo_;
  git_odb* odb_;
  SourceLimits limits_;
  std::string where_;
  BoundedTree out_;
  uint64_t directories_ = 0;
};

// The files under `subdir` of `commit`.
Result<FileTree> read_commit_tree(git_repository* repo, git_commit* commit,
                                  const std::string& subdir, const SourceLimits& limits,
                                  const std::string& shown) {
  const std::string where = "git " + shown + " at " + oid_hex(git_commit_id(commit)).substr(0, 12);
  git_tree* raw_root = nullptr;
  if (git_commit_tree(&raw_root, commit) != 0) {
    return Status::Unavailable(where + ": cannot read the commit's tree: " + last_git_error());
  }
  Owned<git_tree> tree(raw_root);
  if (!subdir.empty()) {
    git_tree_entry* raw_entry = nullptr;
    if (git_tree_entry_bypath(&raw_entry, tree.get(), subdir.c_str()) != 0) {
      return Status::NotFound(where + ": subdir \"" + subdir + "\" not found");
    }
    Owned<git_tree_entry> entry(raw_entry);
    if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE) {
      return Status::Invalid(where + ": subdir \"" + subdir + "\" is not a directory");
    }
    git_tree* raw_sub = nullptr;
    if (git_tree_lookup(&raw_sub, repo, git_tree_entry_id(entry.get())) != 0) {
      return Status::Unavailable(where + ": cannot read subdir \"" + subdir +
                                 "\": " + last_git_error());
    }
    tree.reset(raw_sub);
  }
  git_odb* raw_odb = nullptr;
  if (git_repository_odb(&raw_odb, repo) != 0) {
    return Status::Unavailable(where + ": cannot open the object database: " + last_git_error());
  }
  Owned<git_odb> odb(raw_odb);
  TreeReader reader(repo, odb.get(), limits, where);
  CENV_RETURN_IF_ERROR(reader.read(tree.get(), ""));
  return std::move(reader).finish();
}

}  // namespace

bool git_supports_ssh() { return (git_libgit2_features() & GIT_FEATURE_SSH) != 0; }

bool is_ssh_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) return url.substr(0, scheme_end) == "ssh";
  const size_t colon = url.find(':');
  return colon != std::string_view::npos && colon > 0 &&
         url.substr(0, colon).find('/') == std::string_view::npos;
}

std::string redact_url(std::string_view url) {
  const auto span = userinfo_span(url);
  if (!span) return std::string(url);
  return std::string(url.substr(0, span->first)) + "***" + std::string(url.substr(span->second));
}

Libgit2Fetcher::Libgit2Fetcher(fs::path cache_dir, Options options)
    : cache_dir_(std::move(cache_dir)), options_(options) {
  if (git_libgit2_init() < 0) {
    init_status_ = Status::Internal("git: cannot initialize libgit2: " + last_git_error());
    return;
  }
  initialized_ = true;
  // Registered on every construction: the registry is reset when libgit2's last user shuts
  // it down, and registering again replaces the same entry.
  if (register_git_deadline_stream() != 0) {
    init_status_ =
        Status::Internal("git: cannot register the deadline socket stream: " + last_git_error());
  }
}

Libgit2Fetcher::~Libgit2Fetcher() {
  if (initialized_) git_libgit2_shutdown();
}

fs::path Libgit2Fetcher::mirror_path(std::string_view url) const {
  return cache_dir_ / sha256_hex(url).substr(0, 16);
}

int Libgit2Fetcher::evict_unused_mirrors(fs::file_time_type now) {
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(cache_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path lock_file = it->path();
    if (lock_file.extension() != ".lock") continue;
    auto used = fs::last_write_time(lock_file, ec);
    if (ec || now - used < options_.unused_mirror_age) {
      ec.clear();
      continue;
    }
    fs::path mirror = lock_file;
    mirror.replace_extension();
    if (!fs::exists(mirror, ec)) continue;
    auto lock = MirrorLock::try_acquire(lock_file);
    if (!lock) continue;  // a fetch is using it now
    if (fs::remove_all(mirror, ec) > 0 && !ec) ++removed;
    ec.clear();
  }
  return removed;
}

Result<GitCheckout> Libgit2Fetcher::fetch(const GitSourceSpec& spec) {
  CENV_RETURN_IF_ERROR(init_status_);
  const std::string shown = redact_url(spec.url);
  CENV_RETURN_IF_ERROR(check_url(spec, shown));
  if (spec.ref.empty()) return Status::Invalid("git " + shown + ": ref is empty");
  Result<std::string> subdir = normalize_subdir(spec.subdir);
  if (!subdir.ok()) return subdir.status();

  const GitClock::time_point deadline = GitClock::now() + options_.deadline;
  GitDeadlineScope scope(deadline);
  std::error_code ec;
  if (!fs::exists(cache_dir_, ec)) {
    fs::create_directories(cache_dir_, ec);
    if (!ec) fs::permissions(cache_dir_, fs::perms::owner_all, ec);
    if (ec) {
      return Status::Unavailable("git " + shown + ": cannot create the cache " +
                                 cache_dir_.string() + ": " + ec.message());
    }
  }
  {
    std::lock_guard sweep(sweep_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (last_sweep_ == std::chrono::steady_clock::time_point{} ||
        now - last_sweep_ >= options_.eviction_interval) {
      last_sweep_ = now;
      (void)evict_unused_mirrors(fs::file_time_type::clock::now());
    }
  }
  const fs::path mirror = mirror_path(spec.url);
  const fs::path lock_file = mirror.string() + ".lock";
  auto lock = MirrorLock::acquire(lock_file, deadline, shown);
  if (!lock.ok()) return lock.status();
  fs::last_write_time(lock_file, fs::file_time_type::clock::now(), ec);  // last used: now
  bool created = false;
  auto repo = open_mirror(mirror, shown, created);
  if (!repo.ok()) return repo.status();

  FetchProgress progress;
  progress.deadline = deadline;
  progress.max_received_bytes = options_.max_received_bytes;
  progress.credentials = &spec.credentials;
  Status fetched = fetch_into(repo->get(), spec.url, shown, progress, options_.deadline);
  if (!fetched.ok()) {
    // A URL that never answered leaves no empty mirror behind; a mirror that was fetched
    // before is kept for the next attempt.
    if (created) {
      repo->reset();
      fs::remove_all(mirror, ec);
    }
    return fetched;
  }
  auto commit = resolve_ref(repo->get(), spec.ref, shown);
  if (!commit.ok()) return commit.status();
  auto files = read_commit_tree(repo->get(), commit->get(), *subdir, options_.limits, shown);
  if (!files.ok()) return files.status();
  return GitCheckout{oid_hex(git_commit_id(commit->get())), std::move(*files)};
}

}  // namespace cenv::modules
