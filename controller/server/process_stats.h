#pragma once
// ProcessStats: what the standard process_* metrics report of this process (CPU time, memory,
// file descriptors, start time), read from Linux's /proc.

#include <filesystem>

#include "api/status.h"

namespace cenv {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system CPU time
  double resident_bytes = 0;      // resident set size
  double virtual_bytes = 0;       // virtual memory size
  double open_fds = 0;            // open file descriptors
  double max_fds = 0;             // the soft limit on them (RLIMIT_NOFILE)
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads the stats of the process whose /proc directory is `proc` (default: this one) and the
// boot time from `proc`/../stat. Unavailable, naming the file, when one cannot be read or
// parsed (not Linux, /proc not mounted).
Result<ProcessStats> read_process_stats(const std::filesystem::path& proc = "/proc/self");

}  // namespace cenv
