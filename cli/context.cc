#include "cli/context.h"

namespace cenv::cli {

Context Context::local(Home home, bool autostart) { return Context(std::move(home), autostart); }

Context Context::local_from_env() { return local(Home::from_env()); }

std::unique_ptr<ControllerClient> Context::connect(ClientOptions options) const {
  options.autostart = options.autostart && autostart_;
  return std::unique_ptr<ControllerClient>(new ControllerClient(home_, options));
}

}  // namespace cenv::cli
