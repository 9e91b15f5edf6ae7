#pragma once
// The layout of a certificates directory, as `cenv certs init` writes it (certs/README.md):
//
//   ca.crt                  the CA certificate: servers and clients trust it
//   ca.key                  the CA private key: issues certificates; keep it offline
//   server.crt, server.key  the controller's TLS certificate and key
//   data.key                the data key that seals secrets at rest (data_key.h)
//   <user>.crt, <user>.key  a client certificate and key (admin.crt: user admin, group
//                           cenv:admins)

#include <filesystem>
#include <string>
#include <string_view>

namespace cenv::security {

// The user and group of the client certificate `cenv certs init` makes.
inline constexpr std::string_view kAdminUser = "admin";
inline constexpr std::string_view kAdminGroup = "cenv:admins";

struct CertificateDirectory {
  std::filesystem::path dir;

  std::filesystem::path ca_certificate() const { return dir / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir / "ca.key"; }
  std::filesystem::path server_certificate() const { return dir / "server.crt"; }
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path data_key() const { return dir / "data.key"; }
  std::filesystem::path client_certificate(std::string_view user) const {
    return dir / (std::string(user) + ".crt");
  }
  std::filesystem::path client_key(std::string_view user) const {
    return dir / (std::string(user) + ".key");
  }
};

}  // namespace cenv::security
