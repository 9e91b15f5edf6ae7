#include "reconcilers/exec_process.h"

#include <signal.h>
#include <sys/types.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace cenv {

namespace {

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "TERM";
    case SIGKILL:
      return "KILL";
    case SIGINT:
      return "INT";
    case SIGHUP:
      return "HUP";
    default:
      return std::to_string(signal);
  }
}

}  // namespace

std::string exec_pid_file(std::string_view uid, int attempt) {
  std::string safe;
  for (char c : uid) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') safe += c;
  }
  return "/tmp/.cenv-exec-" + safe + "-" + std::to_string(attempt) + ".pid";
}

std::vector<std::string> wrap_exec_command(std::string_view pid_file,
                                           const std::vector<std::string>& command) {
  // The file name is ours (exec_pid_file: no characters the shell would interpret). A failed
  // write must neither print nor stop the command. `exec` keeps the pid, so the recorded pid
  // is the command's, and so is the exit code.
  std::vector<std::string> out{
      "/bin/sh", "-c", "{ echo $$ >" + std::string(pid_file) + "; } 2>/dev/null; exec \"$@\"",
      "sh"};
  out.insert(out.end(), command.begin(), command.end());
  return out;
}

std::vector<std::string> exec_signal_command(std::string_view pid_file, std::string_view signal) {
  return {"/bin/sh",
          "-c",
          "{ read -r p <\"$1\"; } 2>/dev/null && [ -n \"$p\" ] || exit 3; "
          "kill -s \"$2\" -- \"-$p\" 2>/dev/null || kill -s \"$2\" \"$p\" 2>/dev/null || exit 1",
          "sh",
          std::string(pid_file),
          std::string(signal)};
}

Result<int> run_exec_to_end(docker::DockerClient& docker, const std::string& container,
                            std::vector<std::string> command) {
  docker::ExecSpec spec;
  spec.cmd = std::move(command);
  auto exec = docker.create_exec(container, spec);
  if (!exec.ok()) return exec.status();
  Status s =
      docker.start_exec(*exec, {}, [](docker::StreamKind, std::string_view) { return true; });
  if (!s.ok()) return s;
  auto info = docker.inspect_exec(*exec);
  if (!info.ok()) return info.status();
  if (!info->exit_code) return Status::Internal("exec " + *exec + " ended without an exit code");
  return *info->exit_code;
}

Result<bool> container_has_shell(docker::DockerClient& docker, const std::string& container) {
  auto code = run_exec_to_end(docker, container, {"/bin/sh", "-c", "exit 0"});
  if (code.ok()) return *code == 0;
  // A missing /bin/sh: some daemons refuse the start itself (OCI runtime exec failed).
  const std::string& m = code.status().message();
  if (code.status().code() != Code::kUnavailable &&
      (m.find("executable file not found") != std::string::npos ||
       m.find("no such file or directory") != std::string::npos)) {
    return false;
  }
  return code.status();
}

Status signal_host_process(int pid, std::string_view container_id, int signal) {
  if (pid <= 1 || container_id.empty()) {
    return Status::Unavailable("no host pid of the exec is known");
  }
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream cgroup(proc + "/cgroup");
  if (!cgroup) {
    return Status::Unavailable("process " + std::to_string(pid) +
                               " is not visible here (the Docker daemon runs elsewhere)");
  }
  std::stringstream groups;
  groups << cgroup.rdbuf();
  if (groups.str().find(container_id) == std::string::npos) {
    return Status::Unavailable("process " + std::to_string(pid) + " here is not in container " +
                               std::string(container_id.substr(0, 12)) +
                               " (the Docker daemon runs in another pid namespace)");
  }
  // Field 5 of /proc/PID/stat is the process group; the command (field 2) may hold spaces
  // and parentheses, so read after the last ')'.
  bool leads_group = false;
  std::ifstream stat(proc + "/stat");
  std::stringstream text;
  text << stat.rdbuf();
  const std::string s = text.str();
  if (auto close = s.rfind(')'); close != std::string::npos) {
    std::istringstream rest(s.substr(close + 1));
    std::string state;
    long ppid = 0, pgrp = 0;
    if (rest >> state >> ppid >> pgrp) leads_group = pgrp == pid;
  }
  if (leads_group && ::kill(-pid, signal) == 0) return Status::Ok();
  if (::kill(pid, signal) == 0) return Status::Ok();
  if (errno == ESRCH) return Status::NotFound("process " + std::to_string(pid) + " has ended");
  return Status::Internal("cannot signal process " + std::to_string(pid) + ": " +
                          std::strerror(errno));
}

ExecProcess::ExecProcess(docker::DockerClient& docker, std::string exec_id, std::string pid_file,
                         bool wrapped)
    : docker_(docker),
      exec_id_(std::move(exec_id)),
      pid_file_(std::move(pid_file)),
      wrapped_(wrapped) {}

Status ExecProcess::signal(int signal) {
  // Only a running exec is signalled: its pid cannot have been reused.
  auto info = docker_.inspect_exec(exec_id_);
  if (!info.ok()) return info.status();
  if (!info->running) return Status::NotFound("the exec " + exec_id_ + " does not run");
  Status via_file = Status::NotFound("no pid file");
  if (wrapped_) {
    auto code = run_exec_to_end(docker_, info->container_id,
                                exec_signal_command(pid_file_, signal_name(signal)));
    if (!code.ok() && code.status().code() == Code::kUnavailable) return code.status();
    if (code.ok() && *code == 0) return Status::Ok();
    if (code.ok() && *code == 1) return Status::NotFound("its process has ended");
    // 3: no pid recorded (yet?); else /bin/sh did not run: the host pid may still do.
    via_file = Status::NotFound("its pid is not recorded (yet) in " + pid_file_);
  }
  Status direct = signal_host_process(info->pid, info->container_id, signal);
  if (direct.ok() || !wrapped_) return direct;
  // Wrapped, but no pid recorded: it may be written any moment (NotFound: try again).
  return via_file;
}

}  // namespace cenv
