# Writes ${OUT}: a C++ source defining cenv::dashboard_assets() (dashboard_assets.h) that holds
# the text of every file of ${FILES} (paths relative to ${DIR}), so that the dashboard is
# served from the binary alone. FILES is comma-separated.
string(REPLACE "," ";" FILES "${FILES}")
set(entries "")
set(defs "")
set(i 0)
foreach(f ${FILES})
  file(READ ${DIR}/${f} content)
  string(APPEND defs "constexpr char kFile${i}[] = R\"CENVUI(${content})CENVUI\";\n")
  string(APPEND entries "    {\"${f}\", std::string_view(kFile${i}, sizeof(kFile${i}) - 1)},\n")
  math(EXPR i "${i} + 1")
endforeach()
set(body "// Generated from controller/server/ui/ by controller/server/embed_ui.cmake. Do not edit.
#include \"controller/server/dashboard_assets.h\"

namespace cenv {
namespace {
${defs}}  // namespace

std::span<const DashboardAsset> dashboard_assets() {
  static constexpr DashboardAsset kAssets[] = {
${entries}  };
  return kAssets;
}

}  // namespace cenv
")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
