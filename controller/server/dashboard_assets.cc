#include "controller/server/dashboard_assets.h"

namespace cenv {

const DashboardAsset* find_dashboard_asset(std::string_view path) {
  for (const DashboardAsset& a : dashboard_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

std::string_view dashboard_content_type(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace cenv
