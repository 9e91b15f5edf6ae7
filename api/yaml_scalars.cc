#include "api/yaml_scalars.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>

namespace cenv {

namespace json = boost::json;

namespace {

// Value of digits too large for uint64, as a double.
double big_magnitude(std::string_view digits, int base) {
  double d = 0;
  for (char c : digits) {
    int digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    d = d * base + digit;
  }
  return d;
}

}  // namespace

bool is_yaml_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> resolve_yaml_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<json::value> resolve_yaml_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                         : (c >= '0' && c < '0' + base);
    if (!ok) return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec == std::errc::result_out_of_range) {
    double d = big_magnitude(s, base);
    return json::value(negative ? -d : d);
  }
  constexpr uint64_t kInt64Max = std::numeric_limits<int64_t>::max();
  if (!negative) {
    if (magnitude <= kInt64Max) return json::value(static_cast<int64_t>(magnitude));
    return json::value(magnitude);
  }
  if (magnitude <= kInt64Max) return json::value(-static_cast<int64_t>(magnitude));
  if (magnitude == kInt64Max + 1) return json::value(std::numeric_limits<int64_t>::min());
  return json::value(-static_cast<double>(magnitude));
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?\.(inf|Inf|INF), \.(nan|NaN|NAN)
std::optional<double> resolve_yaml_float(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    double inf = std::numeric_limits<double>::infinity();
    return negative ? -inf : inf;
  }
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0;
  size_t int_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  bool dot = i < body.size() && body[i] == '.';
  if (dot) {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  bool exponent_negative = false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) exponent_negative = body[i++] == '-';
    size_t exp_digits = 0;
    while (i < body.size() && is_digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double d = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
  if (ec == std::errc::result_out_of_range) {
    d = exponent_negative ? 0.0 : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc() || ptr != body.data() + body.size()) {
    return std::nullopt;
  }
  return negative ? -d : d;
}

// Type of an untagged plain scalar.
json::value resolve_yaml_plain(std::string_view s) {
  if (is_yaml_null(s)) return nullptr;
  if (auto b = resolve_yaml_bool(s)) return *b;
  if (auto i = resolve_yaml_int(s)) return *i;
  if (auto d = resolve_yaml_float(s)) return *d;
  return json::string(s);
}

}  // namespace cenv
