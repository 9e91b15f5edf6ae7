#include "controller/server/process_stats.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace cenv {

namespace {

// `text` as a number, nullopt when it is not one.
std::optional<double> number(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

Result<std::string> read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Status::Unavailable("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// fields[0] is field 3 of proc(5), "state".
Result<std::vector<std::string>> stat_fields(const std::filesystem::path& file) {
  auto text = read_text(file);
  if (!text.ok()) return text.status();
  auto close = text->rfind(')');
  if (close == std::string::npos) return Status::Unavailable("cannot parse " + file.string());
  std::istringstream rest(text->substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                  std::istream_iterator<std::string>()};
  // proc(5): utime is field 14, rss field 24.
  if (fields.size() < 24 - 2) return Status::Unavailable("cannot parse " + file.string());
  return fields;
}

// "btime SECONDS" of /proc/stat: when the machine booted.
Result<double> boot_time(const std::filesystem::path& file) {
  auto text = read_text(file);
  if (!text.ok()) return text.status();
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) != 0) continue;
    if (auto v = number(line.substr(6))) return *v;
    break;
  }
  return Status::Unavailable("no btime in " + file.string());
}

// "Max open files  SOFT  HARD  files" of /proc/PID/limits.
Result<double> max_open_files(const std::filesystem::path& file) {
  auto text = read_text(file);
  if (!text.ok()) return text.status();
  std::istringstream lines(*text);
  std::string line;
  const std::string prefix = "Max open files";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream values(line.substr(prefix.size()));
    std::string soft;
    values >> soft;
    if (soft == "unlimited") return std::numeric_limits<double>::infinity();
    if (auto v = number(soft)) return *v;
    break;
  }
  return Status::Unavailable("no \"Max open files\" in " + file.string());
}

}  // namespace

Result<ProcessStats> read_process_stats(const std::filesystem::path& proc) {
  auto fields = stat_fields(proc / "stat");
  if (!fields.ok()) return fields.status();
  auto booted = boot_time(proc.parent_path() / "stat");
  if (!booted.ok()) return booted.status();
  auto max_fds = max_open_files(proc / "limits");
  if (!max_fds.ok()) return max_fds.status();
  std::error_code ec;
  std::filesystem::directory_iterator fds(proc / "fd", ec);
  if (ec) return Status::Unavailable("cannot list " + (proc / "fd").string() + ": " + ec.message());

  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::vector<std::string>& f = fields.value();
  // proc(5) field N is f[N - 3].
  auto utime = number(f[14 - 3]), stime = number(f[15 - 3]), start = number(f[22 - 3]),
       vsize = number(f[23 - 3]), rss = number(f[24 - 3]);
  if (!utime || !stime || !start || !vsize || !rss) {
    return Status::Unavailable("cannot parse " + (proc / "stat").string());
  }
  ProcessStats s;
  s.cpu_seconds = (*utime + *stime) / ticks;
  s.start_time_seconds = booted.value() + *start / ticks;
  s.virtual_bytes = *vsize;
  s.resident_bytes = *rss * page;
  // As Prometheus' own collectors count: the descriptor reading the folder included.
  s.open_fds = static_cast<double>(std::distance(fds, std::filesystem::directory_iterator()));
  s.max_fds = max_fds.value();
  return s;
}

}  // namespace cenv
