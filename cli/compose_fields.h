#pragma once
// The compose values with a syntax of their own, as cenv Service fields: port specs, volume
// specs, Go durations and shell-style command strings (used by compose_converter.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv::cli {

// One port of a Service (spec.ports[]).
struct ComposePort {
  int container_port = 0;
  std::optional<int> host_port;  // nullopt: not published; 0: any free host port
  std::string host_ip;           // empty: all addresses
  std::string protocol = "TCP";  // TCP or UDP
  std::string name;              // empty: none
};

// Short port syntax: "80", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80", "[::1]:8080:80",
// "8080-8081:80-81/udp", "9000-9010:80" (the first host port). A port alone is published on any
// free host port, as docker compose does. Invalid (message without the key) when malformed;
// `note` gets what is carried differently.
Result<std::vector<ComposePort>> parse_short_ports(std::string_view spec, std::string* note);

// `expose` entries: "3000", "8000-8001/udp": container ports, not published.
Result<std::vector<ComposePort>> parse_expose(std::string_view spec);

// A port number or a range "a-b" (inclusive); Invalid when not within 1..65535 (0 allowed when
// `allow_zero`).
Result<std::pair<int, int>> parse_port_range(std::string_view text, bool allow_zero = false);

// A short volume spec "SOURCE:TARGET[:MODE]" or "TARGET".
struct ComposeMount {
  std::string type;    // "volume" (named), "bind" or "anonymous"
  std::string source;  // volume name or host path; empty for anonymous
  std::string target;
  bool read_only = false;
};
Result<ComposeMount> parse_short_volume(std::string_view spec);

// A Go duration ("1m30s", "500ms", "1.5s", "2h") in milliseconds, rounded up to a whole
// millisecond; nullopt when it is not one.
std::optional<int64_t> parse_go_duration(std::string_view text);
// Milliseconds as a cenv duration ("90s", "1500ms", "2h"): the largest unit that is exact.
std::string cenv_duration(int64_t ms);

// Splits a command string into words as docker compose does (POSIX shell words: whitespace
// separates, single quotes are literal, double quotes and backslash escape). Invalid when a
// quote is not closed.
Result<std::vector<std::string>> split_shell_words(std::string_view text);

}  // namespace cenv::cli
