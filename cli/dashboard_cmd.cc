#include "cli/dashboard_cmd.h"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"

extern char** environ;

namespace cenv::cli {

namespace {

std::string first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Percent-encodes what is not unreserved in a URL fragment's path segment.
std::string encode_segment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Whether `program` is an executable file in a folder of $PATH.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  for (const std::string& dir : split(path, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / program;
    if (access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool has_display() {
  for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return true;
  }
  return false;
}

// Starts `xdg-open URL` with its output discarded, without waiting for it.
bool open_in_browser(const std::string& url) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = "xdg-open";
  char* argv[] = {program.data(), const_cast<char*>(url.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0;
}

}  // namespace

std::string dashboard_url(const std::string& address, const std::string& ns) {
  std::string host = address, port;
  if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "[::1]";
  if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
  std::string url = "http://" + host + (port.empty() ? "" : ":" + port) + "/ui/";
  if (!ns.empty()) url += "#/env/" + encode_segment(ns);
  return url;
}

int run_dashboard(const Context& context, const std::string& ns, const DashboardFlags& flags) {
  if (!context.is_local()) {
    std::cerr << "error: context \"" << context.name()
              << "\" is remote: the dashboard is served by the local controller only (on "
                 "loopback); use the local context\n";
    return 1;
  }
  // Starts the local controller when none runs, as every verb does.
  auto hello = context.connect()->hello();
  if (!hello.ok()) {
    print_error(hello.status());
    return 1;
  }
  std::string address = first_line(context.home().http_address_file());
  if (address.empty()) {
    std::cerr << "error: the controller wrote no HTTP address to "
              << context.home().http_address_file().string() << "\n";
    return 1;
  }
  const std::string url = dashboard_url(address, ns);
  std::cout << url << "\n";
  if (!flags.no_open && has_display() && on_path("xdg-open") && !open_in_browser(url)) {
    std::cerr << "warning: xdg-open did not start; open the URL yourself\n";
  }
  return 0;
}

}  // namespace cenv::cli
