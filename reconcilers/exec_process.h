#pragma once
// ExecProcess (DESIGN section 6): signals a process started with Docker exec inside a running
// container. Docker has no call for that (it kills whole containers only), so:
//
//  * When the container has /bin/sh, the command runs through a wrapper,
//      /bin/sh -c '{ echo $$ >PIDFILE; } 2>/dev/null; exec "$@"' sh COMMAND ARGS...
//    that records its pid, then becomes the command: the same pid, argv, stdin, environment,
//    working directory and exit code (a command that is not found exits 127, as in a shell).
//    Docker makes each exec'd process the leader of a session and process group of its own,
//    so a second exec, `kill -s SIG -- -PID`, signals the command and its children (those that
//    did not leave its process group). This works with a remote daemon too.
//  * Without /bin/sh, or when the pid file could not be written (a read-only /tmp), the
//    exec's host pid from exec inspect is signalled, only when the controller runs on the
//    daemon's host in its pid namespace, which it checks: /proc/PID/cgroup must name the
//    container.
//  * Otherwise the process cannot be signalled from here (Unavailable).

#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv {

// The file the wrapper records the pid of attempt `attempt` of the run with `uid` in:
// /tmp/.cenv-exec-<uid>-<attempt>.pid (characters outside [A-Za-z0-9-] of uid dropped).
std::string exec_pid_file(std::string_view uid, int attempt);

// `command` wrapped to record its pid in `pid_file` first (see above). `command` is passed as
// arguments, never parsed by the shell.
std::vector<std::string> wrap_exec_command(std::string_view pid_file,
                                           const std::vector<std::string>& command);

// The command of an exec that sends `signal` (a name: TERM, KILL) to the process group led by
// the pid in `pid_file`, or to that pid alone when it leads no group. Exits 0 when sent, 3
// when no pid is recorded (not yet, or the file could not be written), 1 when no such process.
std::vector<std::string> exec_signal_command(std::string_view pid_file, std::string_view signal);

// Runs `command` with exec in `container` to its end, output discarded; its exit code.
// Fails when Docker does.
Result<int> run_exec_to_end(docker::DockerClient& docker, const std::string& container,
                            std::vector<std::string> command);

// Whether /bin/sh runs in `container` (it runs `/bin/sh -c 'exit 0'`). Fails when Docker does.
Result<bool> container_has_shell(docker::DockerClient& docker, const std::string& container);

// Sends `signal` to host process `pid` (and its process group, when it leads one) if
// /proc/<pid>/cgroup names `container_id`. Unavailable when the process is not visible here or
// not in that container (a remote daemon, another pid namespace), Internal when kill(2) fails.
Status signal_host_process(int pid, std::string_view container_id, int signal);

// One exec'd process of a container, by exec id. Thread-safe (it keeps no state of its own
// beyond its construction).
class ExecProcess {
 public:
  // `wrapped`: the exec runs through wrap_exec_command(pid_file, ...). `docker` must outlive
  // this.
  ExecProcess(docker::DockerClient& docker, std::string exec_id, std::string pid_file,
              bool wrapped);

  // Sends `signal` (SIGTERM, SIGKILL) to the process and its process group: through the pid
  // file when wrapped, else (or when that has no pid) to its host pid. Ok when sent; NotFound
  // when the exec does not run (ended, or not started) or its pid is not recorded yet (try
  // again shortly); Unavailable when it cannot be signalled from here; Docker's error else.
  Status signal(int signal);

  const std::string& exec_id() const { return exec_id_; }

 private:
  docker::DockerClient& docker_;
  const std::string exec_id_;
  const std::string pid_file_;
  const bool wrapped_;
};

}  // namespace cenv
