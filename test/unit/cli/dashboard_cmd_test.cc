// `cenv dashboard`'s URL from the address the controller serves HTTP on.

#include "cli/dashboard_cmd.h"

#include <catch2/catch.hpp>

namespace cenv::cli {
namespace {

TEST_CASE("dashboard_url points at /ui/ of the HTTP address and opens an environment's page",
          "[cli][dashboard]") {
  struct Row {
    std::string address, ns, url;
  };
  const Row rows[] = {
      {"127.0.0.1:8123", "", "http://127.0.0.1:8123/ui/"},
      {"0.0.0.0:8123", "", "http://127.0.0.1:8123/ui/"},
      {"::1:9000", "", "http://[::1]:9000/ui/"},
      {"127.0.0.1:8123", "shop", "http://127.0.0.1:8123/ui/#/env/shop"},
      {"127.0.0.1:1", "a b/c", "http://127.0.0.1:1/ui/#/env/a%20b%2Fc"},
  };
  for (const Row& r : rows) {
    INFO(r.address << " " << r.ns);
    CHECK(dashboard_url(r.address, r.ns) == r.url);
  }
}

}  // namespace
}  // namespace cenv::cli
