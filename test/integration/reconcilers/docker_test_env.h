#pragma once
// What the reconcilers' integration tests share: a run id, the label every Docker object of
// the run carries (cenv-test-run=<id>), and a guard that removes whatever carries it.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "controller/docker/engine_docker_client.h"

namespace cenv::testing {

inline constexpr const char* kTestRunLabel = "cenv-test-run";

// A short id unique to this test (lowercase, DNS-label safe).
inline std::string new_run_id() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x%04x", static_cast<unsigned>(getpid() & 0xffff),
                static_cast<unsigned>(rd() & 0xffff));
  return buf;
}

inline std::unique_ptr<docker::EngineDockerClient> connect_docker() {
  auto c = docker::EngineDockerClient::connect(docker::EngineOptions::from_environment());
  if (!c.ok()) FAIL("dockerd is needed: " << c.status().message());
  return std::move(c.value());
}

// Removes every container, network and volume labelled with the run id, or with
// io.cenv.namespace=<ns> (what the controller made for the test's Environment), and every
// image labelled with the run id.
class DockerCleanup {
 public:
  DockerCleanup(docker::DockerClient& docker, std::string run_id, std::string ns)
      : docker_(docker), run_id_(std::move(run_id)), ns_(std::move(ns)) {}
  ~DockerCleanup() { run(); }
  void run() {
    for (const std::string& f : filters()) {
      auto cs = docker_.list_containers({.all = true, .label_filters = {f}});
      if (cs.ok()) {
        for (const auto& c : cs.value()) (void)docker_.remove_container(c.id, {.force = true});
      }
    }
    for (const std::string& f : filters()) {
      auto ns = docker_.list_networks({f});
      if (ns.ok()) {
        for (const auto& n : ns.value()) (void)docker_.remove_network(n.id);
      }
      auto vs = docker_.list_volumes({f});
      if (vs.ok()) {
        for (const auto& v : vs.value()) (void)docker_.remove_volume(v.name, true);
      }
    }
    // Runtime images the Environment reconciler built for the test (they carry the run label;
    // an image is never matched by namespace alone, which another run could share).
    auto images = docker_.list_images({.label_filters = {run_label()}});
    if (images.ok()) {
      for (const auto& i : images.value()) (void)docker_.remove_image(i.id, {.force = true});
    }
  }
  std::string run_label() const { return std::string(kTestRunLabel) + "=" + run_id_; }

 private:
  std::vector<std::string> filters() const { return {run_label(), "io.cenv.namespace=" + ns_}; }
  docker::DockerClient& docker_;
  const std::string run_id_;
  const std::string ns_;
};

}  // namespace cenv::testing
