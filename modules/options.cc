#include "modules/options.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "api/display_text.h"
#include "modules/manifest.h"

namespace cenv::modules {

namespace json = boost::json;

namespace {

bool is_decimal_integer(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 19) return false;
  if (s.size() > 1 && s.front() == '0') return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && end == s.data() + s.size();
}

// The path of map entry `key` under `field`, as schema errors write it: "spec.options.version",
// or "spec.options[my-option]" for a key that is not an identifier.
std::string member_path(std::string_view field, std::string_view key) {
  bool identifier = !key.empty() && !(key[0] >= '0' && key[0] <= '9') &&
                    std::all_of(key.begin(), key.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_';
                    });
  if (identifier) return std::string(field) + (field.empty() ? "" : ".") + std::string(key);
  return std::string(field) + "[" + escape_for_display(key) + "]";
}

// `value` for a message: JSON text, a number as written in YAML (3.12, not 3.12E0).
std::string shown(const json::value& value) {
  if (value.is_double()) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value.get_double());
    if (ec == std::errc()) return std::string(buf, end);
  }
  return json::serialize(value);
}

}  // namespace

std::string_view option_type_name(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "string";
    case OptionType::kBoolean:
      return "boolean";
    case OptionType::kInteger:
      return "integer";
    case OptionType::kEnum:
      return "enum";
  }
  return "string";
}

std::string option_variable(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else {
      out.push_back('_');
    }
  }
  return out;
}

Result<std::string> option_value_text(const OptionSpec& spec, const json::value& value) {
  switch (spec.type) {
    case OptionType::kString:
      if (value.is_string()) return std::string(value.get_string());
      return Status::Invalid("must be a string (quote it: \"...\"), not " + shown(value));
    case OptionType::kBoolean:
      if (value.is_bool()) return std::string(value.get_bool() ? "true" : "false");
      if (value.is_string() && (value.get_string() == "true" || value.get_string() == "false")) {
        return std::string(value.get_string());
      }
      return Status::Invalid("must be a boolean (true or false), not " + shown(value));
    case OptionType::kInteger:
      if (value.is_int64()) return std::to_string(value.get_int64());
      if (value.is_string() && is_decimal_integer(value.get_string())) {
        return std::string(value.get_string());
      }
      return Status::Invalid("must be an integer, not " + shown(value));
    case OptionType::kEnum: {
      auto allowed = [&] {
        std::string list;
        for (const std::string& v : spec.values) {
          list += (list.empty() ? "\"" : ", \"") + escape_for_display(v) + "\"";
        }
        return list;
      };
      if (!value.is_string()) {
        return Status::Invalid("must be one of " + allowed() + ", not " + shown(value));
      }
      std::string_view s = value.get_string();
      if (std::find(spec.values.begin(), spec.values.end(), s) == spec.values.end()) {
        return Status::Invalid("must be one of " + allowed() + ", not \"" + escape_for_display(s) +
                               "\"");
      }
      return std::string(s);
    }
  }
  return Status::Internal("unknown option type");
}

Result<std::map<std::string, std::string>> resolve_options(const ModuleManifest& manifest,
                                                           const json::object* set,
                                                           std::string_view field) {
  std::map<std::string, std::string> env;
  for (const auto& [name, spec] : manifest.options) {
    env[option_variable(name)] = spec.default_value;
  }
  if (!set) return env;
  std::vector<FieldError> errors;
  for (const auto& kv : *set) {
    std::string_view name(kv.key().data(), kv.key().size());
    std::string path = member_path(field, name);
    auto it = manifest.options.find(name);
    if (it == manifest.options.end()) {
      std::string declared;
      for (const auto& option : manifest.options) {
        declared += (declared.empty() ? "" : ", ") + option.first;
      }
      errors.push_back(
          {path, "module " + manifest.name + " has no option \"" + escape_for_display(name) +
                     "\" (" +
                     (declared.empty() ? "it has no options" : "its options: " + declared) + ")"});
      continue;
    }
    Result<std::string> text = option_value_text(it->second, kv.value());
    if (!text.ok()) {
      errors.push_back({path, "option of type " + std::string(option_type_name(it->second.type)) +
                                  ": " + text.status().message()});
      continue;
    }
    env[option_variable(name)] = std::move(*text);
  }
  if (errors.empty()) return env;
  std::string message;
  for (const FieldError& e : errors) {
    message += (message.empty() ? "" : "\n") + e.path + ": " + e.message;
  }
  return Status::Invalid(std::move(message));
}

}  // namespace cenv::modules
