#include "cli/version_cmd.h"

#include <iostream>
#include <string>
#include <vector>

#include "api/kinds.h"
#include "api/version.h"
#include "cenv/v1/cenv.pb.h"
#include "cli/common.h"
#include "cli/table.h"

namespace cenv::cli {

namespace {

std::string short_identity(const std::string& identity) {
  return identity.empty() ? "-" : identity.substr(0, 12);
}

}  // namespace

int run_version(const Context& context, bool client_only) {
  const std::string client_identity = short_identity(context.identity());
  std::cout << "Client Version:  " << api::version_string() << "\n"
            << "Client Identity: " << client_identity << "\n";
  if (client_only) return 0;
  ClientOptions options;
  options.autostart = false;
  options.timeout = std::chrono::seconds(5);
  auto hello = context.connect(options)->hello();
  if (!hello.ok()) {
    std::cout << "Server Version:  unavailable (" << hello.status().message() << ")\n";
    return 0;
  }
  const std::string server_identity = short_identity(hello->identity());
  std::cout << "Server Version:  " << hello->server_version() << "\n"
            << "Server Identity: " << server_identity << "\n";
  if (hello->identity() != context.identity()) {
    std::cerr << "error: image identity mismatch (client " << client_identity << ", server "
              << server_identity << "): the controller refuses this client's calls\n";
    return 1;
  }
  return 0;
}

int run_api_resources() {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}};
  for (const auto& k : registry().kinds()) {
    std::string shorts;
    for (const auto& s : k.short_names) shorts += (shorts.empty() ? "" : ",") + s;
    rows.push_back(
        {k.plural, shorts, std::string(kApiVersion), k.namespaced ? "true" : "false", k.kind});
  }
  print_rows(rows, std::cout);
  return 0;
}

}  // namespace cenv::cli
