#include "cli/db_cmd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "api/conditions.h"
#include "api/kinds.h"
#include "api/yaml_codec.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/controller_cmd.h"
#include "cli/controller_process.h"
#include "cli/wait_cmd.h"
#include "controller/app/local_controller.h"

namespace cenv {
// manifests/system/postgres.yaml, compiled in by cli/CMakeLists.txt.
const char* system_postgres_manifest();
}  // namespace cenv

namespace cenv::cli {

namespace fs = std::filesystem;

namespace {

const std::string kSystemNamespace(kSystemDatabaseNamespace);
const std::string kServiceName(kSystemDatabaseService);
constexpr const char* kFieldManager = "cenv-db";

// The system database's volume name (DESIGN section 6, of this controller's $CENV_INSTANCE:
// cenv-cenv-system-postgres-data by default).
std::string volume_name() { return system_database_names().volume; }

fs::path db_dir(const Home& home) { return home.root / "db"; }
fs::path password_file(const Home& home) { return db_dir(home) / "password"; }
fs::path port_file(const Home& home) { return db_dir(home) / "port"; }
fs::path url_file(const Home& home) { return db_dir(home) / "store.url"; }

int fail(const Status& s) {
  print_error(s, /*from_server=*/false);
  return 1;
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Writes `text` to `path` with mode 0600 (it may hold a password), atomically.
Status write_private_file(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::permissions(path.parent_path(), fs::perms::owner_all, ec);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp.string());
    fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);
    out << text << "\n";
    if (!out.flush()) return Status::Internal("cannot write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot write " + path.string() + ": " + ec.message());
  return Status::Ok();
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    std::cerr << "cenv: OpenSSL RAND_bytes failed\n";
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
Result<int> free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return Status::Internal("cannot find a free port on 127.0.0.1");
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// The saved value of `path`, or a new one from `make` saved there.
template <typename Make>
Result<std::string> saved_or_new(const fs::path& path, Make make) {
  if (auto saved = read_file(path); saved.ok() && !saved.value().empty()) return saved;
  auto value = make();
  if (!value.ok()) return value.status();
  CENV_RETURN_IF_ERROR(write_private_file(path, value.value()));
  return value;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string postgres_url(const std::string& password, const std::string& port) {
  return "postgres://cenv:" + password + "@127.0.0.1:" + port + "/cenv?connect_timeout=5";
}

}  // namespace

std::string recorded_store_url(const Home& home) {
  auto url = read_file(url_file(home));
  return url.ok() ? url.value() : "";
}

namespace {

std::string sqlite_url(const Home& home) { return "sqlite:" + home.database().string(); }

std::string phase_of(const Object& obj) {
  const auto* status = obj.status_or_null();
  std::string phase = status ? std::string(Object::str_field(*status, "phase")) : "";
  return phase.empty() ? "Pending" : phase;
}

// Waits until the system Service is Ready, printing each new state it passes through.
Status wait_service_ready(ControllerClient& client, std::chrono::seconds timeout) {
  auto ready = WaitCondition::parse("condition=Ready");
  if (!ready.ok()) return ready.status();
  std::string who = std::string("service ") + kSystemNamespace + "/" + kServiceName;
  auto waited =
      wait_for_object(client, "Service", kSystemNamespace, kServiceName, {ready.value()},
                      std::chrono::system_clock::now() + timeout, [&](const std::string& state) {
                        std::cout << "waiting for " << who << " (" << state << ")\n" << std::flush;
                      });
  if (!waited.ok()) return waited.status();
  if (!waited->met) {
    return Status::Unavailable(who + " is not Ready after " + std::to_string(timeout.count()) +
                               "s (last seen: " + waited->state + ")");
  }
  return Status::Ok();
}

// The kinds to copy, cluster-scoped first (Environments are the namespaces of the others).
std::vector<std::string> kinds_to_copy() {
  std::vector<std::string> out;
  for (bool namespaced : {false, true}) {
    for (const auto& k : registry().kinds()) {
      if (k.namespaced == namespaced) out.push_back(k.kind);
    }
  }
  return out;
}

// Stops the controller, copies `from_url` into `to_url`, and records `next_url` (empty:
// SQLite) before starting it again. Prints what it did.
Status switch_store(const Home& home, const std::string& from_url, const std::string& to_url,
                    const std::string& next_url) {
  if (running_controller_pid(home) != 0) {
    std::cout << "stopping the controller to switch its store\n";
    controller_stop(home);
  }
  auto report = copy_store_contents(from_url, to_url, kinds_to_copy());
  if (!report.ok()) return report.status();
  std::cout << "copied " << report.value().copied << " objects (" << report.value().log_bytes
            << " bytes of command output) from " << store_url_for_display(from_url) << " to "
            << store_url_for_display(to_url) << "\n";
  std::error_code ec;
  if (next_url.empty()) {
    fs::remove(url_file(home), ec);
  } else {
    CENV_RETURN_IF_ERROR(write_private_file(url_file(home), next_url));
  }
  auto pid = start_local_controller(home, std::chrono::seconds(60));
  if (!pid.ok()) return pid.status().with_prefix("the controller did not start on the new store");
  std::cout << "controller restarted on "
            << store_url_for_display(next_url.empty() ? sqlite_url(home) : next_url) << " (pid "
            << pid.value() << ")\n";
  return Status::Ok();
}

Status apply_system_manifest(ControllerClient& client, const std::string& image,
                             const std::string& port, const std::string& password) {
  std::string text = system_postgres_manifest();
  text = replace_all(std::move(text), "@IMAGE@", image);
  text = replace_all(std::move(text), "@PORT@", port);
  text = replace_all(std::move(text), "@PASSWORD@", password);
  auto docs = parse_manifest(text, "manifests/system/postgres.yaml");
  if (!docs.ok()) return docs.status();
  v1::ApplyRequest req;
  req.set_field_manager(kFieldManager);
  for (const auto& doc : docs.value()) {
    auto* o = req.add_objects();
    o->set_json(boost::json::serialize(doc.value));
    o->set_source("manifests/system/postgres.yaml (document " + std::to_string(doc.index) + ")");
  }
  auto resp = client.apply(req);
  if (!resp.ok()) return resp.status();
  for (const auto& r : resp.value().results()) {
    std::cout << (r.kind() == "Environment" ? "environment/" : "service/") << r.name() << " "
              << r.action() << "\n";
  }
  return Status::Ok();
}

// Deletes the system Environment (and with it the Service and its container; the volume
// stays) and waits until it is gone.
Status delete_system_environment(const Context& context) {
  auto client = context.connect();
  auto deleted = client->remove("Environment", "", kSystemNamespace, "foreground");
  if (!deleted.ok()) {
    if (deleted.status().code() == Code::kNotFound) return Status::Ok();
    return deleted.status();
  }
  std::cout << "environment/" << kSystemNamespace << " deleted\n";
  auto gone = WaitCondition::parse("delete");
  if (!gone.ok()) return gone.status();
  auto waited = wait_for_object(*client, "Environment", "", kSystemNamespace, {gone.value()},
                                std::chrono::system_clock::now() + std::chrono::seconds(120),
                                [](const std::string&) {});
  if (!waited.ok()) return waited.status();
  if (!waited->met) {
    return Status::Unavailable("environment/" + std::string(kSystemNamespace) +
                               " is still being deleted after 120s (" + waited->state + ")");
  }
  return Status::Ok();
}

}  // namespace

std::string default_store_url(const Home& home) {
  std::string url = recorded_store_url(home);
  return url.empty() ? sqlite_url(home) : url;
}

int db_start(const Context& context, const DbStartOptions& options) {
  const Home& home = context.home();
  if (Status s = home.ensure(); !s.ok()) return fail(s);
  auto password =
      saved_or_new(password_file(home), []() -> Result<std::string> { return random_hex(24); });
  if (!password.ok()) return fail(password.status());
  auto port = saved_or_new(port_file(home), []() -> Result<std::string> {
    auto p = free_loopback_port();
    if (!p.ok()) return p.status();
    return std::to_string(p.value());
  });
  if (!port.ok()) return fail(port.status());
  std::string url = postgres_url(password.value(), port.value());
  if (recorded_store_url(home) == url) {
    auto client = context.connect();
    if (Status s = wait_service_ready(*client, options.timeout); !s.ok()) return fail(s);
    std::cout << "the controller already uses " << store_url_for_display(url) << "\n";
    return 0;
  }
  {
    auto client = context.connect();
    if (Status s = apply_system_manifest(*client, options.image, port.value(), password.value());
        !s.ok()) {
      return fail(s);
    }
    if (Status s = wait_service_ready(*client, options.timeout); !s.ok()) return fail(s);
  }
  // Ready means pg_isready answers inside the container; the published port follows at once,
  // but give the store a few tries before giving up.
  Status reachable = Status::Ok();
  for (int i = 0; i < 20; ++i) {
    reachable = probe_store(url);
    if (reachable.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!reachable.ok()) return fail(reachable.with_prefix("PostgreSQL is Ready but not reachable"));
  if (Status s = switch_store(home, sqlite_url(home), url, url); !s.ok()) return fail(s);
  // The restarted controller adopts the running container (its status may still show what
  // the old one wrote until the first probe of the new one).
  {
    auto client = context.connect();
    if (Status s = wait_service_ready(*client, options.timeout); !s.ok()) return fail(s);
  }
  std::cout << "the controller's store is now " << store_url_for_display(url) << "\n";
  return 0;
}

int db_stop(const Context& context) {
  const Home& home = context.home();
  std::string url = recorded_store_url(home);
  if (url.empty()) {
    std::cout << "the controller already uses " << store_url_for_display(sqlite_url(home)) << "\n";
  } else if (Status s = switch_store(home, url, sqlite_url(home), ""); !s.ok()) {
    return fail(s);
  }
  if (Status s = delete_system_environment(context); !s.ok()) return fail(s);
  std::cout << "PostgreSQL stopped; its data stays in volume " << volume_name() << "\n";
  return 0;
}

int db_rm(const Context& context) {
  const Home& home = context.home();
  if (int rc = db_stop(context); rc != 0) return rc;
  Status removed = remove_docker_volume(volume_name());
  if (!removed.ok() && removed.code() != Code::kNotFound) return fail(removed);
  std::error_code ec;
  fs::remove(password_file(home), ec);
  fs::remove(port_file(home), ec);
  std::cout << "volume " << volume_name() << " removed\n";
  return 0;
}

int db_status(const Context& context) {
  const Home& home = context.home();
  std::string url = recorded_store_url(home);
  std::cout << "store:    " << store_url_for_display(url.empty() ? sqlite_url(home) : url) << "\n";
  auto client = context.connect({.autostart = false, .timeout = std::chrono::seconds(10)});
  auto svc = client->get("Service", kSystemNamespace, kServiceName);
  if (!svc.ok()) {
    if (svc.status().code() == Code::kNotFound) {
      std::cout << "postgres: not running (cenv db start runs it)\n";
      return url.empty() ? 0 : 1;
    }
    return fail(svc.status());
  }
  auto ready = get_condition(svc.value(), "Ready");
  auto saved_port = read_file(port_file(home));
  std::string port = saved_port.ok() ? saved_port.value() : "?";
  std::cout << "postgres: service " << kSystemNamespace << "/" << kServiceName << ", phase "
            << phase_of(svc.value()) << ", Ready " << (ready ? ready->status : "Unknown")
            << ", 127.0.0.1:" << port << ", volume " << volume_name() << "\n";
  return 0;
}

}  // namespace cenv::cli
