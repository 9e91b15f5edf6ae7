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
  std::string log_level = "info";
  std::string http_address = "127.0.0.1:0";  // /healthz, /readyz, /metrics; port 0: any free
  // Serves the API on this "HOST:PORT" too, with mutual TLS (port 0: any free); empty: no.
  std::string listen;
  // The certificates directory of `cenv certs init` (ca.crt, server.crt, server.key); required
  // with `listen`.
  std::filesystem::path certs_dir;
  // Where the TLS listener's address ("HOST:PORT", the port bound) is written once serving.
  std::filesystem::path listen_address_file;
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
