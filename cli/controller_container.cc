#include "cli/controller_container.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "api/display_text.h"
#include "api/status.h"
#include "cli/common.h"

namespace cenv::cli {

namespace {

// Port the API listens on inside the container; published on the host's --listen.
constexpr const char* kContainerPort = "7443";
constexpr const char* kCertsInContainer = "/etc/cenv/certs";

struct ProgramResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `docker` with `args` (an argument array, no shell) and collects its output.
Result<ProgramResult> docker(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return Status::Internal("pipe failed");
  std::vector<char*> argv;
  static char kDocker[] = "docker";
  argv.push_back(kDocker);
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp("docker", argv.data());
    _exit(127);
  }
  close(fds[1]);
  ProgramResult r;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    r.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (r.exit_code == 127) return Status::FailedPrecondition("the docker command is not installed");
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r;
}

// Waits up to 60 s until the controller in container `name` logs that it serves mutual TLS.
// FailedPrecondition with the end of its log when it exits or restarts first.
Status wait_until_serving(const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto logs = docker({"logs", name});
    if (logs.ok() && logs->out.find("serving mutual TLS on") != std::string::npos) {
      return Status::Ok();
    }
    auto state = docker({"inspect", "--format", "{{.State.Running}} {{.RestartCount}}", name});
    const bool stopped = !state.ok() || state->exit_code != 0 || state->out != "true 0";
    if (stopped || std::chrono::steady_clock::now() > deadline) {
      // Read again: it may have said why it stopped after the read above.
      if (stopped) logs = docker({"logs", name});
      std::string tail = logs.ok() ? logs->out : logs.status().message();
      if (tail.size() > 2000) tail = "..." + tail.substr(tail.size() - 2000);
      return Status::FailedPrecondition(
          "the controller in container " + name +
          (stopped ? " stopped before it served" : " did not serve within 60 s") + "; it said:\n" +
          escape_for_display(tail));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// $CENV_CONTAINER_LABELS ("k=v,..."): labels of everything the controller creates, so also
// of its own container and volume.
std::vector<std::string> extra_labels() {
  std::vector<std::string> out;
  const char* labels = std::getenv("CENV_CONTAINER_LABELS");
  if (!labels) return out;
  for (const std::string& l : split(labels, ',')) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

std::string instance() {
  const char* i = std::getenv("CENV_INSTANCE");
  return i && *i ? i : "default";
}

// The container's (and its data volume's) name: cenv-controller, or cenv.<instance>-controller.
std::string container_name() {
  return instance() == "default" ? "cenv-controller" : "cenv." + instance() + "-controller";
}

}  // namespace

std::string default_controller_image() { return std::string("cenv/cenv:") + CENV_VERSION; }

int controller_start_container(const ControllerRunOptions& options, const std::string& image) {
  if (options.listen.empty() || options.certs.empty()) {
    print_error(Status::Invalid("--container needs --listen HOST:PORT and --certs DIR: a "
                                "controller in a container serves its clients over mutual TLS"),
                false);
    return 1;
  }
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    print_error(Status::Invalid("--listen: must be HOST:PORT"), false);
    return 1;
  }
  const std::string host = options.listen.substr(0, colon);
  const std::string certs = std::filesystem::absolute(options.certs).string();
  const std::string name = container_name();
  auto inspect = docker({"image", "inspect", "--format", "{{.Id}}", image});
  if (!inspect.ok() || inspect->exit_code != 0) {
    print_error(Status::NotFound("image " + image + " is not present" +
                                 (inspect.ok() ? "" : ": " + inspect.status().message()) +
                                 " (`make image` builds it)"),
                false);
    return 1;
  }
  const char* docker_host = std::getenv("DOCKER_HOST");
  std::string engine_socket = "/var/run/docker.sock";
  if (docker_host && std::string(docker_host).starts_with("unix://")) {
    engine_socket = std::string(docker_host).substr(7);
  }
  std::vector<std::string> volume = {"volume", "create"};
  std::vector<std::string> args = {"run",       "-d",
                                   "--name",    name,
                                   "--restart", "unless-stopped",
                                   "--label",   "io.cenv.controller=" + instance(),
                                   "-e",        "CENV_INSTANCE=" + instance()};
  for (const std::string& l : extra_labels()) {
    volume.insert(volume.end(), {"--label", l});
    args.insert(args.end(), {"--label", l});
  }
  if (const char* labels = std::getenv("CENV_CONTAINER_LABELS")) {
    args.insert(args.end(), {"-e", std::string("CENV_CONTAINER_LABELS=") + labels});
  }
  volume.push_back(name);
  if (auto made = docker(volume); !made.ok() || made->exit_code != 0) {
    print_error(Status::Unavailable("docker volume create " + name + " failed: " +
                                    (made.ok() ? made->out : made.status().message())),
                false);
    return 1;
  }
  args.insert(args.end(),
              {"-v", engine_socket + ":/var/run/docker.sock", "-v", name + ":/var/lib/cenv", "-v",
               certs + ":" + kCertsInContainer + ":ro", "-p", options.listen + ":" + kContainerPort,
               image, "controller", "run", "--listen", std::string("0.0.0.0:") + kContainerPort,
               "--certs", kCertsInContainer});
  auto started = docker(args);
  if (!started.ok() || started->exit_code != 0) {
    print_error(Status::Unavailable("docker run of " + image + " failed: " +
                                    (started.ok() ? started->out : started.status().message())),
                false);
    return 1;
  }
  // Started is not serving: wait for the controller's own word that it serves mutual TLS, and
  // say why when it stops first (a wrong certificate directory, a missing library).
  if (Status up = wait_until_serving(name); !up.ok()) {
    (void)docker({"rm", "-f", name});  // best effort: the error below is what matters
    print_error(up, false);
    return 1;
  }
  auto port = docker({"port", name, std::string(kContainerPort) + "/tcp"});
  std::string published = port.ok() && port->exit_code == 0 ? port->out : "";
  published = published.substr(0, published.find('\n'));
  if (size_t c = published.rfind(':'); c != std::string::npos) {
    published = (host.empty() || host == "0.0.0.0" ? "127.0.0.1" : host) + published.substr(c);
  }
  std::cout << "controller started in container " << name << " (" << image << "), mutual TLS on "
            << published << "\n"
            << "  cenv context add " << name << " --server " << published << " --certs " << certs
            << "\n";
  return 0;
}

int controller_stop_container() {
  const std::string name = container_name();
  auto removed = docker({"rm", "-f", name});
  if (!removed.ok()) {
    print_error(removed.status(), false);
    return 1;
  }
  if (removed->exit_code != 0) {
    if (removed->out.find("No such container") != std::string::npos) {
      std::cout << "controller container " << name << " not running\n";
      return 0;
    }
    print_error(Status::Unavailable("docker rm " + name + ": " + removed->out), false);
    return 1;
  }
  std::cout << "controller container " << name << " removed (its data volume " << name
            << " stays)\n";
  return 0;
}

}  // namespace cenv::cli
