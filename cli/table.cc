#include "cli/table.h"

#include <algorithm>

namespace cenv::cli {

void print_rows(const std::vector<std::vector<std::string>>& rows, std::ostream& out,
                const TableStyle& style) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line = style.indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + style.gap, ' ');
    }
    out << line << '\n';
  }
}

}  // namespace cenv::cli
