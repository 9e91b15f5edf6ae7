#include "cli/compose_fields.h"

#include <charconv>
#include <cmath>

namespace cenv::cli {

namespace {

std::optional<int> parse_int(std::string_view s) {
  int out = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return out;
}

std::string upper_protocol(std::string_view p) {
  if (p == "tcp" || p == "TCP") return "TCP";
  if (p == "udp" || p == "UDP") return "UDP";
  return std::string();
}

}  // namespace

Result<std::pair<int, int>> parse_port_range(std::string_view text, bool allow_zero) {
  size_t dash = text.find('-');
  std::string_view a = text.substr(0, dash);
  std::string_view b = dash == std::string_view::npos ? a : text.substr(dash + 1);
  auto lo = parse_int(a), hi = parse_int(b);
  int min = allow_zero ? 0 : 1;
  if (!lo || !hi || *lo < min || *hi > 65535 || *hi < *lo) {
    return Status::Invalid("\"" + std::string(text) +
                           "\" is not a port or a port range (1-65535, such as 8080 or "
                           "8000-8010)");
  }
  return std::pair<int, int>{*lo, *hi};
}

namespace {

// The protocol of "PORTS/PROTO" ("TCP" without one), upper-case; `rest` becomes PORTS.
Result<std::string> split_protocol(std::string_view spec, std::string_view& rest) {
  rest = spec;
  size_t slash = spec.rfind('/');
  if (slash == std::string_view::npos) return std::string("TCP");
  std::string protocol = upper_protocol(spec.substr(slash + 1));
  if (protocol.empty()) {
    return Status::Invalid("\"" + std::string(spec) + "\": the protocol must be tcp or udp");
  }
  rest = spec.substr(0, slash);
  return protocol;
}

}  // namespace

Result<std::vector<ComposePort>> parse_short_ports(std::string_view spec, std::string* note) {
  std::string_view rest = spec;
  auto protocol_or = split_protocol(spec, rest);
  if (!protocol_or.ok()) return protocol_or.status();
  const std::string protocol = std::move(protocol_or).value();
  std::string host_ip;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:host:container
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Status::Invalid("\"" + std::string(spec) + "\" is not a port mapping");
    }
    host_ip = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 2);
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3 || (!host_ip.empty() && parts.size() != 2)) {
    return Status::Invalid("\"" + std::string(spec) +
                           "\" is not a port mapping ([IP:][HOST:]CONTAINER[/PROTOCOL])");
  }
  if (parts.size() == 3) host_ip = std::string(parts[0]);
  std::string_view container_text = parts.back();
  std::string_view host_text = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
  auto container = parse_port_range(container_text);
  if (!container.ok()) return container.status();
  std::pair<int, int> host{0, 0};
  bool host_given = !host_text.empty();
  if (host_given) {
    auto h = parse_port_range(host_text);
    if (!h.ok()) return h.status();
    host = h.value();
  }
  int count = container->second - container->first + 1;
  int host_count = host.second - host.first + 1;
  if (host_given && host_count != count && count != 1) {
    return Status::Invalid("\"" + std::string(spec) +
                           "\": the host and container port ranges differ in size");
  }
  if (host_given && count == 1 && host_count > 1 && note) {
    *note = "port \"" + std::string(spec) + "\" publishes on host port " +
            std::to_string(host.first) + ", the first of its range";
  }
  std::vector<ComposePort> out;
  for (int i = 0; i < count; ++i) {
    ComposePort p;
    p.container_port = container->first + i;
    p.host_port = host_given ? host.first + (count == 1 ? 0 : i) : 0;
    p.host_ip = host_ip;
    p.protocol = protocol;
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<ComposePort>> parse_expose(std::string_view spec) {
  std::string_view rest = spec;
  auto protocol_or = split_protocol(spec, rest);
  if (!protocol_or.ok()) return protocol_or.status();
  const std::string protocol = std::move(protocol_or).value();
  auto range = parse_port_range(rest);
  if (!range.ok()) return range.status();
  std::vector<ComposePort> out;
  for (int port = range->first; port <= range->second; ++port) {
    ComposePort p;
    p.container_port = port;
    p.protocol = protocol;
    out.push_back(std::move(p));
  }
  return out;
}

Result<ComposeMount> parse_short_volume(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  ComposeMount m;
  if (parts.size() == 1) {
    m.type = "anonymous";
    m.target = std::string(parts[0]);
  } else if (parts.size() <= 3) {
    m.source = std::string(parts[0]);
    m.target = std::string(parts[1]);
    if (parts.size() == 3) {
      for (size_t start = 0; start <= parts[2].size();) {
        size_t comma = std::min(parts[2].find(',', start), parts[2].size());
        std::string_view opt = parts[2].substr(start, comma - start);
        if (opt == "ro") m.read_only = true;
        start = comma + 1;
      }
    }
    char first = m.source.empty() ? '\0' : m.source.front();
    m.type =
        (first == '/' || first == '.' || first == '~' || m.source.find('/') != std::string::npos)
            ? "bind"
            : "volume";
  } else {
    return Status::Invalid("\"" + std::string(spec) +
                           "\" is not a volume (SOURCE:TARGET[:MODE] or TARGET)");
  }
  if (m.target.empty() || m.target.front() != '/' || (m.type != "anonymous" && m.source.empty())) {
    return Status::Invalid("\"" + std::string(spec) +
                           "\" is not a volume: the target must be an absolute path");
  }
  return m;
}

std::optional<int64_t> parse_go_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return 0;
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double number = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || end != text.data() + i) return std::nullopt;
    size_t unit_start = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return std::nullopt;
    total_ns += number * scale;
  }
  if (total_ns > 1e18) return std::nullopt;
  return static_cast<int64_t>(std::ceil(total_ns / 1e6));
}

std::string cenv_duration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<std::vector<std::string>> split_shell_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return Status::Invalid("a ' quote is not closed");
      word.append(text.substr(i + 1, close - i - 1));
      i = close;
      in_word = true;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            std::string_view("\"\\$`").find(text[j + 1]) != std::string_view::npos) {
          ++j;
        }
        word += text[j];
      }
      if (j >= text.size()) return Status::Invalid("a \" quote is not closed");
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace cenv::cli
