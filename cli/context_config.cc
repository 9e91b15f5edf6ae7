#include "cli/context_config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "api/yaml_reader.h"
#include "api/yaml_writer.h"
#include "controller/security/credential_files.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

constexpr size_t kMaxContextNameLength = 63;
constexpr size_t kMaxConfigBytes = 1 << 20;

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// The string at `key` of `obj`; Invalid naming `where.key` when absent or not a string.
Result<std::string> string_field(const json::object& obj, std::string_view key,
                                 const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (!v || !v->is_string() || v->as_string().empty()) {
    return Status::Invalid(where + "." + std::string(key) + ": a non-empty string is required");
  }
  return std::string(v->as_string());
}

Status only_known_keys(const json::object& obj, std::initializer_list<std::string_view> known,
                       const std::string& where) {
  for (const auto& kv : obj) {
    if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
      return Status::Invalid(where + ": unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  return Status::Ok();
}

Result<std::filesystem::path> absolute_path_field(const json::object& obj, std::string_view key,
                                                  const std::string& where) {
  auto text = string_field(obj, key, where);
  if (!text.ok()) return text.status();
  std::filesystem::path path(text.value());
  if (!path.is_absolute()) {
    return Status::Invalid(where + "." + std::string(key) + ": \"" + text.value() +
                           "\" is not an absolute path");
  }
  return path;
}

Result<RemoteContext> parse_context(const json::value& v, const std::string& where) {
  if (!v.is_object()) return Status::Invalid(where + ": a mapping is required");
  const json::object& obj = v.as_object();
  CENV_RETURN_IF_ERROR(only_known_keys(
      obj, {"name", "server", "certificate-authority", "client-certificate", "client-key"}, where));
  RemoteContext out;
  auto name = string_field(obj, "name", where);
  if (!name.ok()) return name.status();
  if (std::string why = check_context_name(name.value()); !why.empty()) {
    return Status::Invalid(where + ".name: " + why);
  }
  if (name.value() == kLocalContext) {
    return Status::Invalid(where + ".name: \"local\" is built in and cannot be redefined");
  }
  out.name = name.value();
  auto server = string_field(obj, "server", where);
  if (!server.ok()) return server.status();
  if (auto host = server_host(server.value()); !host.ok()) {
    return host.status().with_prefix(where + ".server");
  }
  out.server = server.value();
  auto ca = absolute_path_field(obj, "certificate-authority", where);
  if (!ca.ok()) return ca.status();
  auto cert = absolute_path_field(obj, "client-certificate", where);
  if (!cert.ok()) return cert.status();
  auto key = absolute_path_field(obj, "client-key", where);
  if (!key.ok()) return key.status();
  out.certificate_authority = ca.value();
  out.client_certificate = cert.value();
  out.client_key = key.value();
  return out;
}

Result<std::vector<RemoteContext>> parse_contexts(const json::object& root,
                                                  const std::string& source) {
  std::vector<RemoteContext> out;
  const json::value* list = root.if_contains("contexts");
  if (!list || list->is_null()) return out;
  if (!list->is_array()) return Status::Invalid(source + ": contexts: a list is required");
  for (size_t i = 0; i < list->as_array().size(); ++i) {
    std::string where = source + ": contexts[" + std::to_string(i) + "]";
    auto context = parse_context(list->as_array()[i], where);
    if (!context.ok()) return context.status();
    for (const auto& earlier : out) {
      if (earlier.name == context->name) {
        return Status::Invalid(where + ".name: \"" + context->name + "\" is defined twice");
      }
    }
    out.push_back(std::move(context.value()));
  }
  return out;
}

}  // namespace

std::string check_context_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxContextNameLength) {
    return "a context name has 1 to 63 characters";
  }
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::all_of(name.begin(), name.end(), name_char)) {
    return "\"" + std::string(name) +
           "\": a context name has letters, digits, '.', '_' and '-' and starts with a letter "
           "or digit";
  }
  return "";
}

Result<std::string> server_host(std::string_view server) {
  auto bad = [&] { return Status::Invalid("\"" + std::string(server) + "\": expected HOST:PORT"); };
  size_t colon = server.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = server.substr(0, colon);
  std::string_view port = server.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
    return bad();
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    return std::string(host.substr(1, host.size() - 2));
  }
  if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs brackets
  return std::string(host);
}

const RemoteContext* ContextConfig::find(std::string_view name) const {
  for (const auto& c : contexts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<ContextConfig> ContextConfig::parse(std::string_view text, const std::string& source) {
  ParseLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  auto docs = parse_manifest(text, source, limits);
  if (!docs.ok()) return docs.status();
  ContextConfig out;
  if (docs->empty()) return out;
  if (docs->size() > 1) return Status::Invalid(source + ": one YAML document expected");
  const json::value& root = docs->front().value;
  if (!root.is_object()) return Status::Invalid(source + ": a mapping is required");
  CENV_RETURN_IF_ERROR(only_known_keys(root.as_object(), {"current-context", "contexts"}, source));
  auto contexts = parse_contexts(root.as_object(), source);
  if (!contexts.ok()) return contexts.status();
  out.contexts = std::move(contexts.value());
  if (const json::value* current = root.as_object().if_contains("current-context")) {
    if (!current->is_string()) return Status::Invalid(source + ": current-context: a string");
    out.current_context = std::string(current->as_string());
    if (!out.current_context.empty() && out.current_context != kLocalContext &&
        !out.find(out.current_context)) {
      return Status::Invalid(source + ": current-context: no context \"" + out.current_context +
                             "\"");
    }
  }
  return out;
}

Result<ContextConfig> ContextConfig::load(const std::filesystem::path& path) {
  auto text = security::read_credential_file(path, kMaxConfigBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return ContextConfig{};
    return text.status();
  }
  return parse(text.value(), path.string());
}

std::string ContextConfig::to_yaml() const {
  json::object root;
  root["current-context"] = current_context.empty() ? std::string(kLocalContext) : current_context;
  json::array list;
  for (const auto& c : contexts) {
    list.push_back(json::object{{"name", c.name},
                                {"server", c.server},
                                {"certificate-authority", c.certificate_authority.string()},
                                {"client-certificate", c.client_certificate.string()},
                                {"client-key", c.client_key.string()}});
  }
  root["contexts"] = std::move(list);
  return cenv::to_yaml(root);
}

Status ContextConfig::save(const std::filesystem::path& path) const {
  return security::write_credential_file(path, to_yaml(), 0600, /*overwrite=*/true);
}

}  // namespace cenv::cli
