#pragma once
// A private PostgreSQL server for the integration tests of one test process, run from
// Debian's `postgresql` package binaries (/usr/lib/postgresql/<major>/bin; CENV_TEST_PG_BIN
// overrides the directory). Hermetic: its own data directory in a temp dir (/dev/shm when it
// has room, else the system temp dir), a free TCP port on 127.0.0.1, its unix socket in that
// directory, trust authentication; never a server that was already running.
//
//   auto& server = cenv::testing::postgres_server();  // started on first use, or FAILs
//   cenv::testing::TestDatabase db(server);           // CREATE DATABASE t_<random>
//   auto store = PostgresStore::open(db.url(), clock);
//
// PostgreSQL refuses to run as root: as root, the data directory belongs to the `postgres`
// system user and initdb and the server run as that user (setuid in a forked child).
// initdb is slow, so its output is kept as a template in that temp dir
// (cenv-pg-template-<major>-<uid>) and copied for each process.
// The server is stopped and its directory removed when the process exits (a static
// destructor), whatever the tests' outcome; if the process dies first, the server follows
// (parent-death signal) and the next test process removes the directory.
// Test code: not thread-safe; use from the test's main thread.

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "controller/store/libpq.h"

namespace cenv::testing {

// libpq, loaded as PostgresStore loads it (nothing links libpq: see controller/store/libpq.h).
inline const LibPq& pq() {
  static const LibPq* const table = LibPq::load().value();
  return *table;
}

class PostgresServer {
 public:
  PostgresServer() { error_ = init(); }
  ~PostgresServer() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Why the server could not be set up or started; empty when it runs.
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  // Freezes (SIGSTOP) or thaws (SIGCONT) the server and every backend it forked: connections
  // stay open but nothing answers, as when the network to it is cut.
  void freeze(bool frozen) const {
    if (pid_ <= 0) return;
    const int sig = frozen ? SIGSTOP : SIGCONT;
    kill(pid_, sig);
    std::ifstream children("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) +
                           "/children");
    for (int child; children >> child;) kill(child, sig);
  }
  const std::filesystem::path& directory() const { return dir_; }

  // A libpq URI for database `db` as the superuser "postgres" (any password passes: trust).
  std::string url(const std::string& db, const std::string& password = "") const {
    std::string auth = password.empty() ? "postgres" : "postgres:" + password;
    return "postgres://" + auth + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // Stops the server (fast shutdown: sessions are terminated). The data is kept.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGINT);
    if (!wait_exit(pid_, std::chrono::seconds(30))) {
      kill(pid_, SIGQUIT);
      if (!wait_exit(pid_, std::chrono::seconds(10))) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    pid_ = 0;
  }

  // Starts the server again after stop(), on the same port and data. Returns the error, or
  // "" when it accepts connections.
  std::string start() {
    if (pid_ > 0) return "";
    return launch();
  }

  // Runs `sql` on database `db` as the superuser; returns the error, or "" on success.
  std::string exec(const std::string& db, const std::string& sql) const {
    PGconn* c = pq().PQconnectdb(url(db).c_str());
    std::string err;
    if (pq().PQstatus(c) != CONNECTION_OK) {
      err = pq().PQerrorMessage(c);
    } else {
      PGresult* r = pq().PQexec(c, sql.c_str());
      ExecStatusType st = pq().PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = pq().PQresultErrorMessage(r);
      pq().PQclear(r);
    }
    pq().PQfinish(c);
    return err;
  }

  // The first row's first column of `sql` on database `db` ("" when no row); FAILs on error.
  std::string query(const std::string& db, const std::string& sql) const {
    PGconn* c = pq().PQconnectdb(url(db).c_str());
    INFO(pq().PQerrorMessage(c));
    REQUIRE(pq().PQstatus(c) == CONNECTION_OK);
    PGresult* r = pq().PQexec(c, sql.c_str());
    std::string out, err;
    if (pq().PQresultStatus(r) != PGRES_TUPLES_OK) {
      err = pq().PQresultErrorMessage(r);
    } else if (pq().PQntuples(r) > 0) {
      out = pq().PQgetvalue(r, 0, 0);
    }
    pq().PQclear(r);
    pq().PQfinish(c);
    INFO(sql << ": " << err);
    REQUIRE(err.empty());
    return out;
  }

  // The server log so far (for failure messages).
  std::string log() const {
    std::ifstream in(dir_ / "postgres.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  static std::filesystem::path find_bin_dir() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("CENV_TEST_PG_BIN"); env && *env) return env;
    std::error_code ec;
    fs::path best;
    int best_major = -1;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      int major = std::atoi(entry.path().filename().c_str());
      if (major > best_major && fs::exists(entry.path() / "bin" / "postgres")) {
        best_major = major;
        best = entry.path() / "bin";
      }
    }
    return best;
  }

  // A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // Waits up to `timeout` for child `pid` to exit; true when it did (and was reaped).
  static bool wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int ready = poll(&p, 1, static_cast<int>(timeout.count()));
      close(pidfd);
      if (ready > 0) {
        waitpid(pid, nullptr, 0);
        return true;
      }
      return waitpid(pid, nullptr, WNOHANG) == pid;
    }
    // No pidfd (old kernel): poll the exit status.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Runs `argv` as the server's user with output appended to `log`; returns its pid or -1.
  // The child gets `death_signal` when the thread that spawned it exits.
  pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
              int death_signal) const {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log_path = log.string();
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: async-signal-safe calls only.
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (run_as_uid_ >= 0) {
      gid_t gid = static_cast<gid_t>(run_as_gid_);
      if (setgroups(1, &gid) != 0 || setgid(gid) != 0 ||
          setuid(static_cast<uid_t>(run_as_uid_)) != 0) {
        _exit(126);
      }
    }
    // After setuid: a change of credentials clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(125);
    execv(args[0], args.data());
    _exit(127);
  }

  // Runs `argv` to completion as the server's user; returns "" or the failure with its log.
  std::string run(const std::vector<std::string>& argv, const std::filesystem::path& log) const {
    pid_t pid = spawn(argv, log, SIGKILL);
    if (pid < 0) return "fork failed: " + std::string(std::strerror(errno));
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    return argv[0] + " failed (status " + std::to_string(status) + "):\n" + s.str();
  }

  void chown_tree(const std::filesystem::path& p) const {
    if (run_as_uid_ < 0) return;
    auto own = [&](const std::filesystem::path& f) {
      if (lchown(f.c_str(), static_cast<uid_t>(run_as_uid_), static_cast<gid_t>(run_as_gid_)) !=
          0) {
        // Reported by the server failing to start, with its log.
      }
    };
    own(p);
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec)) own(e.path());
  }

  // Memory is faster than the disk for a throwaway server: /dev/shm when it has room for
  // the data and the test databases (a container's default 64 MB does not), else the
  // system temp dir.
  static std::filesystem::path temp_base() {
    struct statvfs fs {};
    if (statvfs("/dev/shm", &fs) == 0 &&
        static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize >= (uint64_t{1} << 30) &&
        access("/dev/shm", W_OK) == 0) {
      return "/dev/shm";
    }
    return std::filesystem::temp_directory_path();
  }

  // Removes the directories of earlier test processes that died before cleaning up.
  static void remove_stale_dirs(const std::filesystem::path& tmp) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp, ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("cenv-pg-run-", 0) != 0) continue;
      pid_t owner = std::atoi(name.c_str() + std::strlen("cenv-pg-run-"));
      if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) {
        std::error_code ignored;
        std::filesystem::remove_all(e.path(), ignored);
      }
    }
  }

  // The initdb output for this major version, made once per machine under a lock.
  std::string ensure_template(const std::filesystem::path& tmp, std::filesystem::path* out) {
    namespace fs = std::filesystem;
    const std::string major = bin_.parent_path().filename().string();
    // "w1": initdb's arguments changed (1 MB WAL segments); older templates are not reused.
    const std::string base = "cenv-pg-template-" + major + "-w1-" +
                             std::to_string(run_as_uid_ >= 0 ? run_as_uid_ : getuid());
    *out = tmp / base;
    int lock = ::open((tmp / (base + ".lock")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) return "cannot open " + (tmp / (base + ".lock")).string();
    flock(lock, LOCK_EX);
    std::string err;
    if (!fs::exists(*out / "PG_VERSION")) {
      fs::path building = tmp / (base + ".building");
      std::error_code ec;
      fs::remove_all(building, ec);
      fs::create_directories(building, ec);
      chown_tree(building);
      err = run({(bin_ / "initdb").string(), "-D", (building / "data").string(), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
                 // 1 MB instead of 16 MB of WAL to copy for every process.
                 "--wal-segsize=1"},
                building / "initdb.log");
      if (err.empty()) {
        fs::remove_all(*out, ec);
        fs::rename(building / "data", *out, ec);
        if (ec) err = "cannot rename the initdb output: " + ec.message();
      }
      fs::remove_all(building, ec);
    }
    flock(lock, LOCK_UN);
    close(lock);
    return err;
  }

  std::string init() {
    namespace fs = std::filesystem;
    bin_ = find_bin_dir();
    if (bin_.empty() || !fs::exists(bin_ / "postgres") || !fs::exists(bin_ / "initdb")) {
      return "PostgreSQL server binaries not found (looked for initdb and postgres in " +
             (bin_.empty() ? std::string("/usr/lib/postgresql/*/bin") : bin_.string()) +
             "): install Debian's `postgresql` package (scripts/setup does) or set "
             "CENV_TEST_PG_BIN to the directory holding them";
    }
    if (geteuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (!pw) {
        return "running as root, but there is no `postgres` system user to run the server "
               "as (PostgreSQL refuses to run as root); install Debian's `postgresql` package";
      }
      run_as_uid_ = static_cast<int>(pw->pw_uid);
      run_as_gid_ = static_cast<int>(pw->pw_gid);
    }
    const fs::path tmp = temp_base();
    remove_stale_dirs(tmp);
    fs::path templ;
    if (std::string err = ensure_template(tmp, &templ); !err.empty()) return err;

    std::string pattern = (tmp / ("cenv-pg-run-" + std::to_string(getpid()) + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) return "mkdtemp failed: " + std::string(std::strerror(errno));
    dir_ = pattern;
    std::error_code ec;
    fs::copy(templ, dir_ / "data", fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             ec);
    if (ec) return "cannot copy " + templ.string() + ": " + ec.message();
    fs::permissions(dir_ / "data", fs::perms::owner_all, ec);
    chown_tree(dir_);
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      if (port_ <= 0) return "no free TCP port on 127.0.0.1";
      std::string err = launch();
      if (err.empty()) return "";
      // Another process may have taken the port between free_port() and the server's bind.
      if (err.find("could not bind") == std::string::npos &&
          err.find("could not create any TCP/IP sockets") == std::string::npos) {
        return err;
      }
    }
    return "could not start PostgreSQL on a free port:\n" + log();
  }

  std::string launch() {
    const std::filesystem::path data = dir_ / "data";
    // A throwaway server: durability settings off, so the tests do not wait on fsync.
    pid_ =
        spawn({(bin_ / "postgres").string(), "-D", data.string(), "-p", std::to_string(port_), "-k",
               dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
               "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
              dir_ / "postgres.log", SIGQUIT);
    if (pid_ < 0) {
      pid_ = 0;
      return "fork failed: " + std::string(std::strerror(errno));
    }
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                             " dbname=postgres user=postgres connect_timeout=2";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pq().PQping(ping.c_str()) == PQPING_OK) return "";
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return "postgres exited during startup:\n" + log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    return "postgres did not accept connections within 120 s:\n" + log();
  }

  std::filesystem::path bin_;
  std::filesystem::path dir_;  // this process's directory: data/, postgres.log, the socket
  int run_as_uid_ = -1;        // -1: run as ourselves
  int run_as_gid_ = -1;
  int port_ = 0;
  pid_t pid_ = 0;
  std::string error_;
};

// The process's server, started on first use and stopped at exit. FAILs the calling test
// with the reason when it cannot run.
inline PostgresServer& postgres_server() {
  static PostgresServer server;
  INFO(server.error());
  REQUIRE(server.error().empty());
  return server;
}

// An empty database on `server` named t_<random>, dropped (with its sessions) on destruction.
class TestDatabase {
 public:
  explicit TestDatabase(PostgresServer& server) : server_(server) {
    static std::mt19937_64 rng{std::random_device{}()};
    std::ostringstream name;
    name << "t_" << std::hex << rng();
    name_ = name.str();
    std::string err = server_.exec("postgres", "CREATE DATABASE " + name_);
    INFO(err);
    REQUIRE(err.empty());
  }
  ~TestDatabase() {
    if (server_.running())
      (void)server_.exec("postgres", "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string url(const std::string& password = "") const { return server_.url(name_, password); }

 private:
  PostgresServer& server_;
  std::string name_;
};

}  // namespace cenv::testing
