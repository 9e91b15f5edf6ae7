#pragma once
// The composition root's face to the CLI (DESIGN section 8): `cenv controller run` and the
// store maintenance of `cenv db`. This header is all the CLI sees of the controller: it names
// only api/ types, and the CLI's include path holds it but no other controller header.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv {

struct ControllerRunOptions {
  // The store: "sqlite:PATH", a path or "postgres://…". Required.
  std::string store_url;
  // For messages ("another controller is running for HOME").
  std::filesystem::path home;
  // When store_url is this URL (the system database `cenv db start` recorded) and does not
  // answer, its container is started and the store retried for up to a minute. Empty: never.
  std::string system_database_url;
  // The local controller's files: the API socket, the lock held for the life of the process
  // (one controller per home), the pid and HTTP address files written once serving.
  std::filesystem::path socket;
  std::filesystem::path lock_file;
  std::filesystem::path pid_file;
  std::filesystem::path http_address_file;
  // The data key that seals Environment secrets (certs/README.md); its .next and .previous
  // files, when present, are opened with too (`cenv certs rotate-data-key`). Generated (mode
  // 0600) when missing. Empty (default): certs_dir / "data.key" with certs_dir, else
  // home / "data.key".
  std::filesystem::path data_key_file;
  std::string log_level = "info";
  std::string http_address = "127.0.0.1:0";  // /healthz, /readyz, /metrics; port 0: any free
  // Serves the API on this "HOST:PORT" too, with mutual TLS (port 0: any free); empty: no.
  std::string listen;
  // The certificates directory of `cenv certs init` (ca.crt, server.crt, server.key); required
  // with `listen`.
  std::filesystem::path certs_dir;
  // Where the TLS listener's address ("HOST:PORT", the port bound) is written once serving.
  std::filesystem::path listen_address_file;
  // Leader election among replicas sharing a PostgreSQL store (Kubernetes' defaults): the lease
  // lasts lease_duration after a renewal; the leader steps down when it could not renew within
  // renew_deadline; tries are retry_period apart. Invalid unless 0 < retry < renew < lease.
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
};

// Runs the controller in the foreground until SIGINT/SIGTERM; Ok once it has stopped cleanly.
// FailedPrecondition when another controller holds the lock; the store's error when it cannot
// be opened; Invalid for bad options or $CENV_INSTANCE; the certificate loaders' errors (naming
// the file) for bad --certs; Unavailable when the socket or --listen cannot be served or the
// reconcilers do not start.
Status run_controller(const ControllerRunOptions& options);

// The store `url` names, with any password hidden, for messages (the CLI's door to the store
// layer's describe_store_url).
std::string store_url_for_display(const std::string& url);

// Opens the store at `url` and closes it again: Ok when it answers, else why not.
Status probe_store(const std::string& url);

struct StoreCopyReport {
  int64_t copied = 0;     // objects
  int64_t log_bytes = 0;  // bytes of command output
};

// Copies every object of `kinds` (cluster-scoped ones first) and every run's output from the
// store at `from_url` into the one at `to_url`. Errors name the store that failed.
Result<StoreCopyReport> copy_store_contents(const std::string& from_url, const std::string& to_url,
                                            const std::vector<std::string>& kinds);

struct DataKeyRotationReport {
  std::string previous_key_id;  // the key the secrets were sealed under
  std::string key_id;           // the key they are sealed under now
  int64_t environments = 0;     // Environments written
  int64_t secrets = 0;          // secret values sealed again
};

// `cenv certs rotate-data-key`, offline (no controller may run on the store): generates a new
// data key into `key_file`.next (or takes the one a rotation that stopped half-way left
// there), seals every Environment secret of the store at `store_url` again under it, then
// keeps the old key as `key_file`.previous and moves the new one to `key_file`. Run again
// after a failure, it finishes. NotFound when `key_file` is missing; Invalid naming the
// Environment and key of a secret that does not open (nothing is replaced then); the store's
// and the file system's errors otherwise.
Result<DataKeyRotationReport> rotate_data_key(const std::string& store_url,
                                              const std::filesystem::path& key_file);

// The system database `cenv db start` runs: Service `postgres` of Environment `cenv-system`
// (manifests/system/postgres.yaml), its data in the Service's volume `data`.
inline constexpr std::string_view kSystemDatabaseNamespace = "cenv-system";
inline constexpr std::string_view kSystemDatabaseService = "postgres";
inline constexpr std::string_view kSystemDatabaseVolume = "data";

// The Docker names of the system database's container and volume for this instance
// ($CENV_INSTANCE), as the Service reconciler makes them.
struct SystemDatabaseNames {
  std::string container;
  std::string volume;
};
SystemDatabaseNames system_database_names();

// Removes Docker volume `volume` (NotFound when absent, Unavailable without dockerd).
Status remove_docker_volume(const std::string& volume);

}  // namespace cenv
