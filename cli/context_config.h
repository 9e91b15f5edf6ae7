#pragma once
// ContextConfig: the contexts of $CENV_HOME/config.yaml, as a kubeconfig holds them (DESIGN
// section 1). The built-in context `local` (the unix socket) is never stored; every other one
// names a remote controller and the files it is reached with:
//
//   current-context: prod
//   contexts:
//   - name: prod
//     server: cenv.example.com:7443
//     certificate-authority: /home/u/certs/ca.crt
//     client-certificate: /home/u/certs/admin.crt
//     client-key: /home/u/certs/admin.key

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv::cli {

// The context of the local controller: always there, the default.
inline constexpr std::string_view kLocalContext = "local";

struct RemoteContext {
  std::string name;
  std::string server;  // "HOST:PORT"; HOST is checked against the server certificate's names
  std::filesystem::path certificate_authority;  // absolute
  std::filesystem::path client_certificate;     // absolute
  std::filesystem::path client_key;             // absolute
  bool operator==(const RemoteContext&) const = default;
};

// "" when `name` can name a context (1 to 63 of [A-Za-z0-9._-], starting with a letter or
// digit), else why not.
std::string check_context_name(std::string_view name);
// The HOST of "HOST:PORT" ("[::1]:7443": "::1"); Invalid naming `server` when it is not that.
Result<std::string> server_host(std::string_view server);

struct ContextConfig {
  std::string current_context;  // "" or "local": the local controller
  std::vector<RemoteContext> contexts;

  // The remote context called `name`, or null.
  const RemoteContext* find(std::string_view name) const;

  // Parses config.yaml's text. Invalid naming `source` and the field at fault (a bad name,
  // server or relative path, a duplicate, `local`, an unknown current-context).
  static Result<ContextConfig> parse(std::string_view text, const std::string& source);
  // Reads `path`; a missing file is an empty config. Errors name the file.
  static Result<ContextConfig> load(const std::filesystem::path& path);
  // The text parse() reads back.
  std::string to_yaml() const;
  // Writes to_yaml() to `path` with mode 0600, atomically. Unavailable naming the file.
  Status save(const std::filesystem::path& path) const;
};

}  // namespace cenv::cli
