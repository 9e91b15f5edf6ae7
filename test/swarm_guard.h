#pragma once
// SwarmGuard: makes this Docker engine a single-node swarm for a test's life, through the
// docker CLI (`docker swarm init --advertise-addr 127.0.0.1`), only when the engine is in none
// (`docker info --format '{{.Swarm.LocalNodeState}}'` says inactive); it leaves the swarm at
// the end (`docker swarm leave --force`) only when it made it, so a swarm it found is left as
// it was. Tests that use the swarm hold the CTest RESOURCE_LOCK docker_swarm (test/CMakeLists),
// so one test's leave never pulls the swarm from under another's.

#include <stdio.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

namespace cenv::testing {

// `docker info --format '{{.Swarm.LocalNodeState}}'`, or "" when docker did not answer.
inline std::string swarm_node_state() {
  FILE* p = popen("docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null", "r");
  if (!p) return "";
  std::string out;
  char buf[128];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class SwarmGuard {
 public:
  SwarmGuard() {
    const std::string state = swarm_node_state();
    INFO("swarm state: " << state);
    if (state == "active") {
      REQUIRE(std::system("docker node ls >/dev/null 2>&1") == 0);  // a manager, not a worker
      return;
    }
    REQUIRE(state == "inactive");
    REQUIRE(std::system("docker swarm init --advertise-addr 127.0.0.1 >/dev/null") == 0);
    made_ = true;
    // The swarm schedules once its node is Ready and its ingress network exists; a service
    // created before may keep its tasks "New" on no node (seen after several init/leave in a
    // row in one CI run).
    REQUIRE(std::system("for i in $(seq 300); do "
                        "docker network inspect ingress >/dev/null 2>&1 && "
                        "[ \"$(docker node ls --format '{{.Status}}' 2>/dev/null)\" = Ready ] && "
                        "exit 0; sleep 0.1; done; exit 1") == 0);
  }
  ~SwarmGuard() {
    if (made_ && std::system("docker swarm leave --force >/dev/null") != 0) {
      WARN("docker swarm leave --force failed");
    }
  }
  SwarmGuard(const SwarmGuard&) = delete;
  SwarmGuard& operator=(const SwarmGuard&) = delete;
  bool made() const { return made_; }

 private:
  bool made_ = false;
};

}  // namespace cenv::testing
