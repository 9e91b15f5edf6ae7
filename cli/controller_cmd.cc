#include "cli/controller_cmd.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/kinds.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/api_client.h"
#include "cli/common.h"
#include "cli/db_cmd.h"
#include "controller/runtime/api_client.h"
#include "controller/runtime/event_recorder.h"
#include "controller/server/api_service.h"
#include "controller/server/grpc_server.h"
#include "controller/server/heap_trimmer.h"
#include "controller/server/http_server.h"
#include "controller/server/metrics.h"
#include "controller/store/open_store.h"
#include "reconcilers/setup.h"

namespace cenv::cli {

namespace {

// Local errors (the controller's own, never the server's): "error: ..." and exit code 1.
int fail(const Status& s) {
  print_error(s, /*from_server=*/false);
  return 1;
}

}  // namespace

int controller_run(const Home& home, const ControllerRunOptions& options) {
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

  if (Status s = home.ensure(); !s.ok()) return fail(s);
  // One controller per CENV_HOME: the lock is held for the life of the process.
  int lock_fd = open(home.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return fail(Status::FailedPrecondition("another controller is running for " +
                                           home.root.string() + " (pid " +
                                           std::to_string(running_controller_pid(home)) + ")"));
  }

  // --store, else what `cenv db start` recorded, else SQLite in CENV_HOME.
  std::string url = options.store.empty() ? default_store_url(home) : options.store;
  std::string shown_url = describe_store_url(url);  // never shows a password
  SystemClock clock;
  auto store = open_controller_store(home, url, clock, std::chrono::seconds(60));
  if (!store.ok()) return fail(store.status().with_prefix("cannot open the store " + shown_url));
  auto kinds = KindRegistry::builtin();
  if (!kinds.ok()) return fail(kinds.status());
  ApiService api(*store.value(), kinds.value(), clock);
  WatchHub hub(*store.value());
  // The heap a large request used at its peak goes back to the system once the burst is over.
  HeapTrimmer heap_trimmer;
  api.set_on_commit([&hub, &heap_trimmer] {
    hub.notify();
    heap_trimmer.notify();
  });
  if (Status s = api.ensure_default_namespace(); !s.ok()) return fail(s);
  // Events about the API's own transitions (deletions waiting for finalizers).
  ApiServiceClient event_client(api);
  EventRecorder events(event_client, clock);
  api.set_on_event([&events](const Object& about, std::string_view type, std::string_view reason,
                             std::string_view message) {
    events.record(about, type == "Warning" ? EventSeverity::kWarning : EventSeverity::kNormal,
                  reason, message);
  });

  Metrics metrics;
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
  if (!set_options.ok()) return fail(set_options.status());
  HttpServerOptions http_options;
  auto colon = options.http_address.rfind(':');
  http_options.address = options.http_address.substr(0, colon);
  try {
    http_options.port =
        colon == std::string::npos
            ? 0
            : static_cast<unsigned short>(std::stoul(options.http_address.substr(colon + 1)));
  } catch (...) {
    return fail(Status::Invalid("--http-address: expected HOST:PORT, got \"" +
                                options.http_address + "\""));
  }
  http_options.ready = [&store_ref]() -> Status {
    auto rev = store_ref.revision();
    return rev.ok() ? Status::Ok() : rev.status();
  };
  auto http = HttpServer::start(metrics, http_options);
  if (!http.ok()) return fail(http.status());
  std::string http_address = http_options.address + ":" + std::to_string(http.value()->port());
  std::ofstream(home.http_address_file(), std::ios::trunc) << http_address << "\n";

  GrpcServerOptions server_options;
  server_options.unix_socket = options.socket.empty() ? home.socket().string() : options.socket;
  server_options.store_description = shown_url;
  server_options.metrics = &metrics;
  server_options.after_call = [&heap_trimmer] { heap_trimmer.notify(); };
  // Docker is reached lazily: without dockerd the API still serves and the objects say
  // DockerUnavailable until it answers.
  auto docker = DockerConnection::from_environment();
  // CommandRun output: stored through the LogHub, served by Logs and Stdin.
  LogHub log_hub(*store.value());
  LogsService logs(api, log_hub, [&docker] { return docker->client(); });
  server_options.logs = &logs;
  auto server = GrpcServer::start(api, hub, server_options);
  if (!server.ok()) return fail(server.status());
  {
    std::ofstream pid(home.pid_file(), std::ios::trunc);
    pid << getpid() << "\n";
  }
  // The controllers.
  set_options->logs = &log_hub;
  set_options->events = &events;
  auto reconcilers = ReconcilerSet::start(api, hub, *docker, clock, *set_options);
  if (!reconcilers.ok()) {
    server.value()->shutdown();
    server.value()->wait();
    return fail(reconcilers.status().with_prefix("cannot start the controllers"));
  }
  spdlog::info("cenv controller {} serving on unix:{} with store {} (pid {}); http on {}",
               cenv_version_string(), server_options.unix_socket, shown_url, getpid(),
               http_address);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  reconcilers.value()->stop();
  server.value()->shutdown();
  server.value()->wait();
  std::error_code ec;
  std::filesystem::remove(server_options.unix_socket, ec);
  std::filesystem::remove(home.pid_file(), ec);
  std::filesystem::remove(home.http_address_file(), ec);
  spdlog::info("stopped");
  close(lock_fd);
  return 0;
}

int controller_start(const Home& home) {
  if (int pid = running_controller_pid(home); pid != 0) {
    std::cout << "controller already running (pid " << pid << ")\n";
    return 0;
  }
  auto pid = start_local_controller(home, std::chrono::seconds(30));
  if (!pid.ok()) return fail(pid.status());
  std::cout << "controller started (pid " << pid.value() << ", socket " << home.socket().string()
            << ", log " << home.log_file().string() << ")\n";
  return 0;
}

int controller_stop(const Home& home) {
  int pid = running_controller_pid(home);
  if (pid == 0) {
    std::cout << "controller not running\n";
    return 0;
  }
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (kill(pid, 0) != 0) {
      std::cout << "controller stopped (pid " << pid << ")\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  std::cout << "controller killed after 10s (pid " << pid << ")\n";
  return 0;
}

int controller_status(const Home& home) {
  int pid = running_controller_pid(home);
  if (pid == 0) {
    std::cout << "controller not running (home " << home.root.string() << ")\n";
    return 3;  // like `systemctl status`/LSB: not running
  }
  ClientOptions options;
  options.autostart = false;
  options.timeout = std::chrono::seconds(5);
  auto hello = ApiClient::local(home, options)->hello();
  if (!hello.ok()) {
    std::cout << "controller pid " << pid << " is not answering: " << hello.status().message()
              << "\n";
    return 1;
  }
  std::cout << "controller running\n"
            << "  pid:     " << hello->pid() << "\n"
            << "  version: " << hello->server_version() << "\n"
            << "  socket:  " << hello->socket() << "\n"
            << "  store:   " << hello->store() << "\n"
            << "  http:    " <<
      [&] {
        std::ifstream in(home.http_address_file());
        std::string addr;
        std::getline(in, addr);
        return addr.empty() ? std::string("-") : "http://" + addr;
      }() << "\n"
            << "  log:     " << home.log_file().string() << "\n";
  return 0;
}

int controller_logs(const Home& home, int tail_lines) {
  std::ifstream in(home.log_file());
  if (!in) {
    std::cerr << "error: no controller log at " << home.log_file().string() << "\n";
    return 1;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  size_t from = (tail_lines >= 0 && lines.size() > static_cast<size_t>(tail_lines))
                    ? lines.size() - static_cast<size_t>(tail_lines)
                    : 0;
  for (size_t i = from; i < lines.size(); ++i) std::cout << lines[i] << "\n";
  return 0;
}

}  // namespace cenv::cli
