// The composition root of `cenv controller run` (DESIGN section 8): opens the store, starts the
// API server (gRPC and HTTP), the watch hub, the logs service and the reconcilers, and wires
// them together; the only place that knows every layer.

#include "controller/app/local_controller.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>

#include "api/kinds.h"
#include "api/version.h"
#include "controller/app/in_process_client.h"
#include "controller/app/leading_reconcilers.h"
#include "controller/app/reconciler_set.h"
#include "controller/app/server_security.h"
#include "controller/app/service_logs.h"
#include "controller/docker/engine_docker_client.h"
#include "controller/runtime/event_recorder.h"
#include "controller/security/certificate_directory.h"
#include "controller/security/keyring_secret_box.h"
#include "controller/security/tls_policy.h"
#include "controller/server/api_service.h"
#include "controller/server/dashboard.h"
#include "controller/server/git_webhook.h"
#include "controller/server/grpc_server.h"
#include "controller/server/heap_trimmer.h"
#include "controller/server/http_server.h"
#include "controller/server/metrics.h"
#include "controller/store/copy_store.h"
#include "controller/store/open_store.h"
#include "modules/tar_archive.h"
#include "reconcilers/docker_names.h"

namespace cenv {

namespace {

// The pid of the process holding the write lock on `fd`'s file, 0 when none does.
int lock_holder(int fd) {
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  if (fcntl(fd, F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK) return 0;
  return static_cast<int>(probe.l_pid);
}

// The data key: as given, else the certificates directory's (served with --certs), else
// $CENV_HOME's.
std::filesystem::path data_key_file(const ControllerRunOptions& options) {
  if (!options.data_key_file.empty()) return options.data_key_file;
  if (!options.certs_dir.empty())
    return security::CertificateDirectory{options.certs_dir}.data_key();
  return options.home / "data.key";
}

DockerNames names_from_environment() {
  auto n = DockerNames::from_environment();
  return n.ok() ? std::move(n).value() : DockerNames();
}

// Opens the store. When it is the system database (`cenv db start`) and does not answer (its
// container stopped, e.g. after dockerd restarted), starts that container and retries for up
// to `wait`: the store must be up before the controller can manage it.
Result<std::unique_ptr<Store>> open_controller_store(const ControllerRunOptions& options,
                                                     const Clock& clock,
                                                     std::chrono::seconds wait) {
  const std::string& url = options.store_url;
  auto store = open_store(url, clock);
  if (store.ok() || options.system_database_url.empty() || url != options.system_database_url) {
    return store;
  }
  // The system database's container is labelled by the Service that made it; the controller
  // adopts it once it runs.
  auto docker = docker::EngineDockerClient::connect(docker::EngineOptions::from_environment());
  if (!docker.ok()) return store;
  const std::string container = system_database_names().container;
  Status started = docker.value()->start_container(container);
  if (!started.ok() && started.code() != Code::kConflict) {
    return store.status().with_prefix("the system database " + container + " cannot be started (" +
                                      started.message() + ")");
  }
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    store = open_store(url, clock);
    if (store.ok()) return store;
  }
  return store;
}

// One controller per CENV_HOME: the lock on options.lock_file, held for the life of the
// process; returns its descriptor. FailedPrecondition naming the holder when another has it.
// A POSIX record lock (not flock): clients ask who holds it with F_GETLK without taking it,
// and the kernel drops it the moment the process dies, before a zombie is reaped.
Result<int> take_controller_lock(const ControllerRunOptions& options) {
  int lock_fd = open(options.lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  struct flock whole_file {};
  whole_file.l_type = F_WRLCK;
  whole_file.l_whence = SEEK_SET;
  if (lock_fd < 0) {
    return Status::Internal("cannot open " + options.lock_file.string() + ": " +
                            std::strerror(errno));
  }
  if (fcntl(lock_fd, F_SETLK, &whole_file) != 0) {
    Status held =
        Status::FailedPrecondition("another controller is running for " + options.home.string() +
                                   " (pid " + std::to_string(lock_holder(lock_fd)) + ")");
    close(lock_fd);
    return held;
  }
  return lock_fd;
}

// The HTTP server (metrics, health, Git webhooks, the dashboard) on options.http_address
// ("HOST:PORT"; port 0 picks one); writes the address it serves on ("HOST:PORT") to
// options.http_address_file and returns it.
struct ServingHttp {
  std::unique_ptr<HttpServer> server;
  std::string address;
};
Result<ServingHttp> start_http_server(const ControllerRunOptions& options, Metrics& metrics,
                                      Store& store, GitWebhook& webhook, Dashboard& dashboard,
                                      std::function<std::string()> ready_detail) {
  HttpServerOptions http_options;
  http_options.dashboard = &dashboard;
  auto colon = options.http_address.rfind(':');
  http_options.address = options.http_address.substr(0, colon);
  try {
    http_options.port =
        colon == std::string::npos
            ? 0
            : static_cast<unsigned short>(std::stoul(options.http_address.substr(colon + 1)));
  } catch (...) {
    return Status::Invalid("--http-address: expected HOST:PORT, got \"" + options.http_address +
                           "\"");
  }
  http_options.ready = [&store]() -> Status {
    auto rev = store.revision();
    return rev.ok() ? Status::Ok() : rev.status();
  };
  http_options.ready_detail = std::move(ready_detail);
  http_options.git_webhook = [&webhook](std::string_view environment,
                                        const WebhookRequest& request) {
    return webhook.handle(environment, request);
  };
  auto http = HttpServer::start(metrics, http_options);
  if (!http.ok()) return http.status();
  std::string http_address = http_options.address + ":" + std::to_string(http.value()->port());
  std::ofstream(options.http_address_file, std::ios::trunc) << http_address << "\n";
  return ServingHttp{std::move(http.value()), http_address};
}

// "HOST:PORT" of the TLS listener `listen` asked for, with the port it got; "" without one.
std::string listen_address(const std::string& listen, int port) {
  if (listen.empty() || port == 0) return "";
  return listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
}

// Who leads, as Hello and /readyz tell it; `leading` is null until the reconcilers started.
LeadershipInfo leadership_of(const LeadingReconcilers* leading) {
  if (leading == nullptr) return {.replica = "", .leader = "", .leading = false};
  Leadership l = leading->leadership();
  return {.replica = leading->identity(),
          .leader = l.leading ? leading->identity() : l.leader,
          .leading = l.leading};
}

// The /readyz line naming the leader.
std::string leader_line(const LeadingReconcilers* leading) {
  LeadershipInfo l = leadership_of(leading);
  if (leading == nullptr) return "leader: not elected yet (starting)\n";
  if (l.replica.empty()) return "leader: this controller (no other replica on this store)\n";
  if (l.leading) return "leader: " + l.replica + " (this replica)\n";
  return "leader: " + (l.leader.empty() ? std::string("none (an election is due)") : l.leader) +
         " (this replica: " + l.replica + ")\n";
}

}  // namespace

Status run_controller(const ControllerRunOptions& options) {
  // Block the stop signals in every thread (gRPC's included); the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Fewer malloc arenas (glibc makes up to 8 per core, one per busy thread) keep less freed
  // memory resident across gRPC's worker threads.
  mallopt(M_ARENA_MAX, 2);

  spdlog::set_default_logger(spdlog::stderr_color_mt("cenv"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  auto lock_fd = take_controller_lock(options);
  if (!lock_fd.ok()) return lock_fd.status();
  auto security = load_server_security(options.listen, options.certs_dir);
  if (!security.ok()) return security.status();
  // The API over TLS speaks TLS 1.3 only (issue 12); contexts are made from here on.
  if (security->tls) CENV_RETURN_IF_ERROR(security::require_tls13_in_process());
  const std::string& url = options.store_url;
  std::string shown_url = describe_store_url(url);  // never shows a password
  SystemClock clock;
  // The data key before the store: a bad key file stops the start with nothing served.
  auto secrets = security::KeyringSecretBox::from_key_file(data_key_file(options), true);
  if (!secrets.ok()) return secrets.status();
  auto store = open_controller_store(options, clock, std::chrono::seconds(60));
  if (!store.ok()) return store.status().with_prefix("cannot open the store " + shown_url);
  auto kinds = KindRegistry::builtin();
  if (!kinds.ok()) return kinds.status();
  // Every layer counts into the one registry `metrics` renders for GET /metrics.
  Metrics metrics;
  ApiService api(*store.value(), kinds.value(), clock);
  api.set_metrics(metrics.registry());
  api.set_secret_box(secrets.value().get());
  // Module folders the CLI packs arrive with applies; each is checked against its digest.
  api.set_archive_digester([](std::string_view data) -> Result<std::string> {
    auto tree = modules::read_tar(data, modules::SourceLimits{});
    if (!tree.ok()) return tree.status();
    return modules::tree_digest(tree.value());
  });
  WatchHub hub(*store.value());
  // Writes of other controller replicas sharing the store reach this one's watchers at once
  // (PostgreSQL LISTEN/NOTIFY; none for SQLite, which has no other writer).
  auto change_feed = open_change_feed(url, [&hub] { hub.notify(); });
  if (!change_feed.ok()) return change_feed.status();
  // The leader lease replicas sharing the store elect the one that reconciles with (PostgreSQL;
  // none for SQLite: this controller always reconciles).
  auto leases = open_lease_store(url);
  if (!leases.ok()) return leases.status();
  // The heap a large request used at its peak goes back to the system once the burst is over.
  HeapTrimmer heap_trimmer;
  api.set_on_commit([&hub, &heap_trimmer] {
    hub.notify();
    heap_trimmer.notify();
  });
  if (Status s = api.ensure_default_namespace(); !s.ok()) return s;
  // Events about the API's own transitions (deletions waiting for finalizers) and about the
  // users' writes (who applied, updated, deleted). The recorder writes as the controller, so
  // its own writes tell nothing. A user's write does not wait for its events (an apply of
  // 10,000 objects tells 10,000): they are written on the recorder's thread.
  ApiServiceClient event_client(api);
  EventRecorder events(event_client, clock);
  api.set_on_event([&events](const Object& about, std::string_view type, std::string_view reason,
                             std::string_view message, std::string_view user) {
    EventSeverity severity = type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal;
    if (user.empty()) {
      events.record(about, severity, reason, message);
    } else {
      events.record_soon(about, severity, reason, message, user);
    }
  });
  // Environments' namespaces are emptied in the background, those a previous run left
  // unfinished too; that stops before what it reports to (the events, the watch hub) goes.
  struct StopNamespaceDeletions {
    ApiService& api;
    ~StopNamespaceDeletions() { api.stop_namespace_deletions(); }
  } stop_namespace_deletions{api};
  if (Status s = api.start_namespace_deletions(); !s.ok()) return s;

  Store& store_ref = *store.value();
  metrics.add_gauge("cenv_store_revision", "The store's newest revision.", [&store_ref] {
    auto rev = store_ref.revision();
    return rev.ok() ? static_cast<double>(rev.value()) : -1.0;
  });
  metrics.add_gauge("cenv_watchers", "Watches currently open.",
                    [&hub] { return static_cast<double>(hub.watcher_count()); });
  // Which instance this controller is and what it labels in Docker ($CENV_INSTANCE,
  // $CENV_CONTAINER_LABELS): refused before anything starts when invalid.
  auto set_options = ReconcilerSetOptions::from_environment();
  if (!set_options.ok()) return set_options.status();
  // POST /hooks/git/<environment>: a Git host's push asks for a sync, signed with the
  // Environment's webhook secret.
  GitWebhook webhook(api, secrets.value().get(), clock);
  // Docker is reached lazily: without dockerd the API still serves and the objects say
  // DockerUnavailable until it answers.
  auto docker = DockerConnection::from_environment(&metrics.registry());
  // CommandRun output: stored through the LogHub, served by Logs, Stdin and the dashboard.
  LogHub log_hub(*store.value(), &metrics.registry());
  LogsService logs(api, log_hub, docker_service_logs(*docker, set_options->names));
  // The read-only web UI under /ui/ of the HTTP server; it outlives the server, which stops it.
  Dashboard dashboard(api, hub, &logs);
  metrics.add_gauge("cenv_dashboard_streams", "Dashboard event streams currently open.",
                    [&dashboard] { return static_cast<double>(dashboard.open_streams()); });
  metrics.add_gauge("cenv_dashboard_dropped_streams",
                    "Dashboard watch streams dropped since the start because their client fell "
                    "behind.",
                    [&dashboard] { return static_cast<double>(dashboard.dropped_streams()); });
  // Set once the reconcilers started (the servers answer before that).
  std::atomic<LeadingReconcilers*> leading{nullptr};
  auto http = start_http_server(options, metrics, store_ref, webhook, dashboard,
                                [&leading] { return leader_line(leading.load()); });
  if (!http.ok()) return http.status();
  GrpcServerOptions server_options;
  server_options.unix_socket = options.socket.string();
  server_options.store_description = shown_url;
  server_options.metrics = &metrics;
  server_options.after_call = [&heap_trimmer] { heap_trimmer.notify(); };
  server_options.tls = security->tls;
  server_options.gate = security->gate;
  authorize_by_stored_bindings(server_options.gate, *store.value());
  server_options.logs = &logs;
  server_options.leadership = [&leading] { return leadership_of(leading.load()); };
  auto server = GrpcServer::start(api, hub, server_options);
  if (!server.ok()) return server.status();
  std::string listening = listen_address(options.listen, server.value()->tls_port());
  if (!listening.empty() && !options.listen_address_file.empty()) {
    std::ofstream(options.listen_address_file, std::ios::trunc) << listening << "\n";
  }
  {
    std::ofstream pid(options.pid_file, std::ios::trunc);
    pid << getpid() << "\n";
  }
  // The controllers.
  set_options->logs = &log_hub;
  set_options->events = &events;
  set_options->secrets = secrets.value().get();
  set_options->metrics = &metrics.registry();
  if (!options.home.empty()) set_options->git_cache_dir = options.home / "cache" / "git";
  LeaderElectionOptions election;
  election.lease_duration = options.lease_duration;
  election.renew_deadline = options.renew_deadline;
  election.retry_period = options.retry_period;
  auto reconcilers = LeadingReconcilers::start(leases->get(), election, api, hub, *docker, clock,
                                               *set_options, events);
  if (!reconcilers.ok()) {
    server.value()->shutdown();
    server.value()->wait();
    return reconcilers.status().with_prefix("cannot start the controllers");
  }
  leading.store(reconcilers.value().get());
  spdlog::info("cenv controller {} serving on unix:{} with store {} (pid {}); http on {}",
               api::version_string(), server_options.unix_socket, shown_url, getpid(),
               http->address);
  if (!listening.empty()) {
    spdlog::info("serving mutual TLS on {} (certificates {})", listening,
                 options.certs_dir.string());
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  reconcilers.value()->stop();
  leading.store(nullptr);
  server.value()->shutdown();
  server.value()->wait();
  std::error_code ec;
  std::filesystem::remove(server_options.unix_socket, ec);
  std::filesystem::remove(options.pid_file, ec);
  std::filesystem::remove(options.http_address_file, ec);
  if (!options.listen_address_file.empty()) {
    std::filesystem::remove(options.listen_address_file, ec);
  }
  spdlog::info("stopped");
  close(lock_fd.value());
  return Status::Ok();
}

Status probe_store(const std::string& url) {
  SystemClock clock;
  return open_store(url, clock).status();
}

Result<StoreCopyReport> copy_store_contents(const std::string& from_url, const std::string& to_url,
                                            const std::vector<std::string>& kinds) {
  SystemClock clock;
  auto from = open_store(from_url, clock);
  if (!from.ok()) return from.status().with_prefix("cannot open " + describe_store_url(from_url));
  auto to = open_store(to_url, clock);
  if (!to.ok()) return to.status().with_prefix("cannot open " + describe_store_url(to_url));
  auto report = copy_store(*from.value(), *to.value(), kinds);
  if (!report.ok()) return report.status();
  return StoreCopyReport{.copied = static_cast<int64_t>(report->copied),
                         .log_bytes = static_cast<int64_t>(report->log_bytes)};
}

SystemDatabaseNames system_database_names() {
  DockerNames names = names_from_environment();
  return {.container = names.container(kSystemDatabaseNamespace, kSystemDatabaseService),
          .volume = names.volume(kSystemDatabaseNamespace, kSystemDatabaseService,
                                 kSystemDatabaseVolume)};
}

Status remove_docker_volume(const std::string& volume) {
  auto docker = docker::EngineDockerClient::connect(docker::EngineOptions::from_environment());
  if (!docker.ok()) return docker.status();
  return docker.value()->remove_volume(volume);
}

std::string store_url_for_display(const std::string& url) { return describe_store_url(url); }

}  // namespace cenv
