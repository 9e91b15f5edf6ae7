#pragma once
// Text tables as kubectl prints them: cells left-aligned in columns as wide as their widest
// cell. Used by every table of the CLI (get, events, describe, api-resources).

#include <ostream>
#include <string>
#include <vector>

namespace cenv::cli {

struct TableStyle {
  std::string indent;  // written before each line (default: none)
  size_t gap = 3;      // spaces between two columns (default 3, as kubectl's get)
};

// Writes `rows` (a header row is just the first row) one per line, each column padded to the
// width of its widest cell; the last cell of a row is not padded. Rows may differ in length.
void print_rows(const std::vector<std::vector<std::string>>& rows, std::ostream& out,
                const TableStyle& style = {});

}  // namespace cenv::cli
