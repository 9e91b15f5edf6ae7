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

int run_version(const Context& context, bool client_only) {
  std::cout << "Client Version: " << api::version_string() << "\n";
  if (client_only) return 0;
  ClientOptions options;
  options.autostart = false;
  options.timeout = std::chrono::seconds(5);
  auto hello = context.connect(options)->hello();
  if (hello.ok()) {
    std::cout << "Server Version: " << hello->server_version() << "\n";
  } else {
    std::cout << "Server Version: unavailable (no controller answers; `cenv controller start`)\n";
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
