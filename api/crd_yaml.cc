#include "api/crd_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace cenv {

namespace json = boost::json;

namespace {

constexpr int kMaxCrdDepth = 64;

bool plain_null(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

json::value yaml_scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  // Quoted scalars carry the non-specific tag "!"; only plain ones are typed.
  if (n.Tag() != "?") return json::string(s);
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (plain_null(s)) return nullptr;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  const char* digits_begin = (b != e && (*b == '-' || *b == '+')) ? b + 1 : b;
  if (digits_begin != e &&
      std::all_of(digits_begin, e, [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t i = 0;
    auto [p, ec] = std::from_chars(*b == '+' ? b + 1 : b, e, i);
    if (ec == std::errc() && p == e) return i;
  }
  bool numeric_chars =
      digits_begin != e && std::all_of(digits_begin, e, [](char c) {
        return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
      });
  bool has_digit = std::any_of(digits_begin, e, [](char c) { return c >= '0' && c <= '9'; });
  if (numeric_chars && has_digit) {
    double d = 0;
    auto [p, ec] = std::from_chars(*b == '+' ? b + 1 : b, e, d);
    if (ec == std::errc() && p == e) return d;
  }
  return json::string(s);
}

Result<json::value> yaml_to_json(const YAML::Node& n, int depth) {
  if (depth > kMaxCrdDepth)
    return Status::Invalid("nested deeper than " + std::to_string(kMaxCrdDepth));
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      return yaml_scalar(n);
    case YAML::NodeType::Sequence: {
      json::array a;
      a.reserve(n.size());
      for (const YAML::Node& item : n) {
        Result<json::value> v = yaml_to_json(item, depth + 1);
        if (!v.ok()) return v.status();
        a.push_back(std::move(*v));
      }
      return json::value(std::move(a));
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return Status::Invalid("map key is not a scalar");
        Result<json::value> v = yaml_to_json(kv.second, depth + 1);
        if (!v.ok()) return v.status();
        o[kv.first.Scalar()] = std::move(*v);
      }
      return json::value(std::move(o));
    }
  }
  return json::value(nullptr);
}

}  // namespace

Result<json::value> crd_yaml_to_json(std::string_view text) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return yaml_to_json(node, 0);
  } catch (const YAML::Exception& e) {
    return Status::Invalid(std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace cenv
