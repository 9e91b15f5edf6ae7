#include "controller/server/metrics.h"

#include <charconv>
#include <cmath>

#include "controller/server/process_stats.h"

namespace cenv {

namespace {

// A value as Prometheus' Go client writes it: the shortest text that reads back as `v` (%g
// style: "0.0001", "1.7949888005e+09").
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return std::string(buf, ec == std::errc() ? end : buf);
}

// `text` escaped as the text format wants it in a label value (quote too) or in HELP.
std::string escaped(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` (with `extra` last, e.g. le="0.5"); "" without labels.
std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra = {}) {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ",";
    out += names[i] + "=\"" + escaped(values[i], true) + "\"";
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ",";
    out += extra;
  }
  return out + "}";
}

void write_header(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out += "# HELP ";
  out += name;
  out += " " + escaped(help, false) + "\n# TYPE ";
  out += name;
  out += " ";
  out += type;
  out += "\n";
}

void write_family(std::string& out, const metrics::FamilySnapshot& f) {
  if (f.samples.empty()) return;
  const char* type = f.type == metrics::Type::kCounter ? "counter"
                     : f.type == metrics::Type::kGauge ? "gauge"
                                                       : "histogram";
  write_header(out, f.name, f.help, type);
  for (const metrics::Sample& s : f.samples) {
    if (f.type != metrics::Type::kHistogram) {
      out += f.name + label_text(f.label_names, s.label_values) + " " + num(s.value) + "\n";
      continue;
    }
    for (size_t i = 0; i < f.bounds.size(); ++i) {
      out += f.name + "_bucket" +
             label_text(f.label_names, s.label_values, "le=\"" + num(f.bounds[i]) + "\"") + " " +
             std::to_string(s.histogram.cumulative[i]) + "\n";
    }
    out += f.name + "_bucket" + label_text(f.label_names, s.label_values, "le=\"+Inf\"") + " " +
           std::to_string(s.histogram.count) + "\n";
    out += f.name + "_sum" + label_text(f.label_names, s.label_values) + " " +
           num(s.histogram.sum) + "\n";
    out += f.name + "_count" + label_text(f.label_names, s.label_values) + " " +
           std::to_string(s.histogram.count) + "\n";
  }
}

void write_gauge(std::string& out, std::string_view name, std::string_view help, double v,
                 std::string_view type = "gauge") {
  write_header(out, name, help, type);
  out += name;
  out += " " + num(v) + "\n";
}

void write_process(std::string& out) {
  auto stats = read_process_stats();
  if (!stats.ok()) return;
  const ProcessStats& p = stats.value();
  write_gauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
              p.cpu_seconds, "counter");
  write_gauge(out, "process_max_fds", "Maximum number of open file descriptors.", p.max_fds);
  write_gauge(out, "process_open_fds", "Number of open file descriptors.", p.open_fds);
  write_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
              p.resident_bytes);
  write_gauge(out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", p.start_time_seconds);
  write_gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
              p.virtual_bytes);
}

}  // namespace

Metrics::Metrics()
    : requests_(registry_.counter("cenv_api_requests_total",
                                  "API calls served, by call and result code.", {"call", "code"})),
      latency_(registry_.histogram("cenv_api_request_seconds", "Latency of API calls, by call.",
                                   {"call"})) {}

void Metrics::observe_call(std::string_view call, Code code, std::chrono::nanoseconds latency) {
  requests_.with({call, code_name(code)}).inc();
  latency_.with({call}).observe(latency);
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::render() const {
  std::string out;
  for (const metrics::FamilySnapshot& f : registry_.collect()) write_family(out, f);
  {
    std::lock_guard lock(mu_);
    for (const Gauge& g : gauges_) write_gauge(out, g.name, g.help, g.read());
  }
  write_process(out);
  return out;
}

}  // namespace cenv
