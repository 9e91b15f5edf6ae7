#pragma once
// A module whose Module.spec.source.git names a Git repository: the git fetcher seam
// (GitFetcher) and its production implementation over libgit2 (Libgit2Fetcher), which keeps a
// bare mirror per URL in a cache directory and reads the tree of the resolved commit.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "api/status.h"
#include "modules/file_tree.h"
#include "modules/source_limits.h"

namespace cenv::modules {

// How a fetch authenticates, when the server asks. Never logged, never part of a message.
struct GitCredentials {
  // http(s): the password (a token) of HTTP basic authentication, sent as user `username`.
  std::string token;
  // ssh: a private key without passphrase (PEM or OpenSSH format), held in memory only.
  std::string ssh_private_key;
  // The user: default the URL's user, else "git".
  std::string username;
  // ssh: the server host keys to trust, as known_hosts lines (what `ssh-keyscan HOST` prints;
  // the host field is not read, hashed or not). A server offering another key is refused, as
  // is every ssh server when this is empty. Public, unlike the rest.
  std::string ssh_known_hosts;

  bool empty() const { return token.empty() && ssh_private_key.empty(); }
};

// What to fetch: Module.spec.source.git, or an Environment's spec.source.
struct GitSourceSpec {
  // "https://...", "http://...", "git://...", "file:///..." or a local path; "ssh://..." and
  // "user@host:path" only with credentials.ssh_private_key (and a libgit2 built with ssh).
  // Userinfo in a URL is never logged or returned.
  std::string url;
  // A branch, a tag (peeled to its commit), or a full or abbreviated (>= 4 hex) commit id,
  // tried in that order; "refs/..." names a reference exactly. Required.
  std::string ref;
  // The folder of the repository that holds the module; empty (or "/") is the root.
  std::string subdir;
  // Offered when the server asks for authentication; empty: none (a server that asks is
  // answered with an error saying so).
  GitCredentials credentials{};
};

// Whether this process's libgit2 can fetch over ssh (it was built with libssh2).
bool git_supports_ssh();

// Whether `url` is an ssh URL: "ssh://..." or scp-like "user@host:path" / "host:path".
bool is_ssh_url(std::string_view url);

// What a fetch yields: the resolved commit and the files under `subdir` at that commit.
struct GitCheckout {
  std::string commit;  // 40 lower-case hex
  FileTree files;
};

// The git fetcher seam: reconcilers and the CLI depend on this, tests may substitute it.
class GitFetcher {
 public:
  virtual ~GitFetcher() = default;

  // Fetches `spec.url`, resolves `spec.ref` and returns the tree at `spec.subdir`. Errors name
  // the (redacted) URL and what failed: Invalid for a bad spec, an ambiguous abbreviated id, a
  // symbolic link or submodule in the tree or a crossed limit; Unavailable for a repository
  // that cannot be reached or read, or a fetch past its deadline; NotFound for an unknown ref
  // (listing some branches and tags) or a missing subdir.
  virtual Result<GitCheckout> fetch(const GitSourceSpec& spec) = 0;
};

struct Libgit2FetcherOptions {
  // The whole fetch (connect, negotiation, download) must end within this; default 60 s.
  // Bounded: every network read, write and TCP connect (a custom libgit2 socket stream polls
  // against the deadline), and the download (checked on each transfer-progress and sideband
  // callback). Not bounded: DNS resolution (the system resolver's own timeouts apply) and the
  // read of a local (file://) repository, which does no network I/O.
  std::chrono::milliseconds deadline{60'000};
  // Bytes the download of one fetch may receive; default 1 GiB.
  uint64_t max_received_bytes = 1ull << 30;
  // Bounds of the checked-out tree (files, bytes, and as many directories as files);
  // defaults as SourceLimits.
  SourceLimits limits;
  // A mirror no fetch used for this long is removed (a later fetch of its URL clones again);
  // fetch() looks for such mirrors at most once per `eviction_interval`. Defaults 14 days, 1 h.
  std::chrono::hours unused_mirror_age{24 * 14};
  std::chrono::minutes eviction_interval{60};
};

// Fetches with libgit2 into bare mirrors under `cache_dir` (created 0700): one per URL, named
// by the first 16 hex of the URL's SHA-256, holding every branch and tag (pruned on each
// fetch), so a second fetch of the same URL downloads only what is new.
// Thread-safe: fetch() may be called from several threads (and processes sharing cache_dir);
// fetches of one URL are serialized by an flock on "<mirror>.lock" (waiting at most the
// deadline), fetches of different URLs run in parallel. Each fetch stamps the lock file's
// modification time; mirrors unused for options.unused_mirror_age are evicted. While any
// Libgit2Fetcher exists, the process's libgit2 uses cenv's socket stream for plain TCP (the TLS
// stream runs over it); streams created outside fetch() get no deadline from it.
class Libgit2Fetcher final : public GitFetcher {
 public:
  using Options = Libgit2FetcherOptions;

  // Initializes libgit2 (reference-counted; released by the destructor) and registers the
  // deadline stream; if either fails, every fetch returns Internal saying so. The cache
  // directory is created on the first fetch.
  explicit Libgit2Fetcher(std::filesystem::path cache_dir, Options options = {});
  ~Libgit2Fetcher() override;
  Libgit2Fetcher(const Libgit2Fetcher&) = delete;
  Libgit2Fetcher& operator=(const Libgit2Fetcher&) = delete;

  Result<GitCheckout> fetch(const GitSourceSpec& spec) override;

  // Where the mirror of `url` lives (whether or not it exists yet).
  std::filesystem::path mirror_path(std::string_view url) const;

  // Removes the mirrors whose last fetch (their lock file's modification time) is older than
  // options.unused_mirror_age at `now`, skipping any a fetch holds; returns how many it removed.
  // The lock files stay (they are empty), so a fetch waiting on one still excludes others.
  int evict_unused_mirrors(std::filesystem::file_time_type now);

 private:
  std::filesystem::path cache_dir_;
  Options options_;
  std::mutex sweep_mu_;
  std::chrono::steady_clock::time_point last_sweep_{};  // guarded by sweep_mu_
  bool initialized_ = false;  // git_libgit2_init succeeded (so the destructor shuts it down)
  Status init_status_;        // a failed libgit2 set-up, returned by every fetch
};

// `url` with any "user[:password]@" of a scheme URL replaced by "***@", for messages and logs.
std::string redact_url(std::string_view url);

}  // namespace cenv::modules
