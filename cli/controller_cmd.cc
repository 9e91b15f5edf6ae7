#include "cli/controller_cmd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>
#include <tuple>

#include "api/kinds.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/controller_process.h"
#include "cli/db_cmd.h"
#include "controller/app/local_controller.h"

namespace cenv::cli {

namespace {

// Local errors (the controller's own, never the server's): "error: ..." and exit code 1.
int fail(const Status& s) {
  print_error(s, /*from_server=*/false);
  return 1;
}

// The first line of `path`, "" when it cannot be read.
std::string read_first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

int controller_run(const Home& home, const ControllerRunOptions& options) {
  if (Status s = home.ensure(); !s.ok()) return fail(s);
  cenv::ControllerRunOptions run;
  // --store, else what `cenv db start` recorded, else SQLite in CENV_HOME.
  run.store_url = options.store.empty() ? default_store_url(home) : options.store;
  run.system_database_url = recorded_store_url(home);
  run.home = home.root;
  run.socket = options.socket.empty() ? home.socket() : std::filesystem::path(options.socket);
  run.lock_file = home.lock_file();
  run.pid_file = home.pid_file();
  run.http_address_file = home.http_address_file();
  run.log_level = options.log_level;
  run.http_address = options.http_address;
  run.listen = options.listen;
  if (!options.certs.empty()) run.certs_dir = std::filesystem::absolute(options.certs);
  run.listen_address_file = home.listen_address_file();
  for (auto [flag, text, out] :
       {std::tuple{"--lease-duration", &options.lease_duration, &run.lease_duration},
        std::tuple{"--renew-deadline", &options.renew_deadline, &run.renew_deadline},
        std::tuple{"--retry-period", &options.retry_period, &run.retry_period}}) {
    if (text->empty()) continue;
    auto d = parse_duration(*text);
    if (!d.ok()) return fail(d.status().with_prefix(flag));
    *out = *d;
  }
  if (Status s = run_controller(run); !s.ok()) return fail(s);
  return 0;
}

int controller_start(const Home& home, const ControllerRunOptions& options) {
  if (int pid = running_controller_pid(home); pid != 0) {
    std::cout << "controller already running (pid " << pid << ")\n";
    return 0;
  }
  std::vector<std::string> args;
  if (!options.listen.empty()) args.insert(args.end(), {"--listen", options.listen});
  if (!options.certs.empty()) {
    args.insert(args.end(), {"--certs", std::filesystem::absolute(options.certs).string()});
  }
  auto pid = start_local_controller(home, std::chrono::seconds(30), args);
  if (!pid.ok()) return fail(pid.status());
  std::cout << "controller started (pid " << pid.value() << ", socket " << home.socket().string();
  if (std::string listening = read_first_line(home.listen_address_file()); !listening.empty()) {
    std::cout << ", mutual TLS on " << listening;
  }
  std::cout << ", log " << home.log_file().string() << ")\n";
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
    if (running_controller_pid(home) != pid) {
      std::cout << "controller stopped (pid " << pid << ")\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  std::cout << "controller killed after 10s (pid " << pid << ")\n";
  return 0;
}

int controller_status(const Context& context) {
  const Home& home = context.home();
  int pid = running_controller_pid(home);
  if (pid == 0) {
    std::cout << "controller not running (home " << home.root.string() << ")\n";
    return 3;  // like `systemctl status`/LSB: not running
  }
  ClientOptions options;
  options.autostart = false;
  options.timeout = std::chrono::seconds(5);
  auto hello = context.connect(options)->hello();
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
        std::string addr = read_first_line(home.http_address_file());
        return addr.empty() ? std::string("-") : "http://" + addr;
      }() << "\n";
  if (std::string listening = read_first_line(home.listen_address_file()); !listening.empty()) {
    std::cout << "  listen:  " << listening << " (mutual TLS)\n";
  }
  if (!hello->replica().empty()) {
    std::cout << "  replica: " << hello->replica() << "\n"
              << "  leader:  "
              << (hello->leading()          ? "this replica (runs the reconcilers)"
                  : hello->leader().empty() ? "none at the moment (an election is due)"
                                            : hello->leader())
              << "\n";
  } else if (hello->leading()) {
    std::cout << "  leader:  this controller (the only one on its store)\n";
  }
  std::cout << "  log:     " << home.log_file().string() << "\n";
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
