#include "cli/controller_process.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cenv/v1/cenv.grpc.pb.h"

namespace cenv::cli {

namespace {

std::string log_tail(const std::filesystem::path& log, size_t lines) {
  std::ifstream in(log);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "\n  " + all[i];
  }
  return out;
}

}  // namespace

bool controller_answers(const Home& home, std::chrono::milliseconds deadline) {
  auto channel =
      grpc::CreateChannel("unix:" + home.socket().string(), grpc::InsecureChannelCredentials());
  auto stub = v1::Cenv::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::HelloRequest req;
  v1::HelloResponse resp;
  return stub->Hello(&ctx, req, &resp).ok();
}

int running_controller_pid(const Home& home) {
  // The controller holds a write lock on the lock file for its whole life (run_controller);
  // the kernel releases it as the process dies. A pid alone would say "alive" for a killed
  // controller that is still a zombie, or for an unrelated process that got its pid.
  int fd = open(home.lock_file().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  int rc = fcntl(fd, F_GETLK, &probe);
  close(fd);
  if (rc != 0 || probe.l_type == F_UNLCK) return 0;
  return static_cast<int>(probe.l_pid);
}

Result<int> start_local_controller(const Home& home, std::chrono::seconds wait,
                                   const std::vector<std::string>& extra_args) {
  CENV_RETURN_IF_ERROR(home.ensure());
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return Status::Internal("cannot find the cenv binary (/proc/self/exe)");
  exe[n] = '\0';
  // Built before fork: the child only execs.
  std::vector<std::string> words = {"cenv", "controller", "run"};
  words.insert(words.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    // The controller outlives this CLI: its own session, no terminal, output to the log.
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    int log = open(home.log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull >= 0) dup2(devnull, 0);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    close_range(3, ~0U, 0);
    execv(exe, argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return Status::Unavailable("the local controller exited at start (log " +
                                 home.log_file().string() + "):" + log_tail(home.log_file(), 5));
    }
    if (controller_answers(home, std::chrono::milliseconds(200))) return static_cast<int>(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("the local controller did not answer within " +
                             std::to_string(wait.count()) + "s (log " + home.log_file().string() +
                             "):" + log_tail(home.log_file(), 5));
}

}  // namespace cenv::cli
