#include "cli/certs_cmd.h"

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "api/clock.h"
#include "cli/common.h"
#include "cli/controller_process.h"
#include "cli/db_cmd.h"
#include "cli/home.h"
#include "controller/app/local_controller.h"
#include "controller/security/certificate_authority.h"
#include "controller/security/certificate_directory.h"
#include "controller/security/credential_files.h"
#include "controller/security/data_key.h"
#include "controller/security/image_identity.h"
#include "controller/security/keyring_secret_box.h"

namespace cenv::cli {

namespace {

namespace fs = std::filesystem;
using security::CertificateAuthority;
using security::CertificateDirectory;
using security::IssuedCertificate;

constexpr int kCaMinimumDays = 3650;
constexpr mode_t kPublicMode = 0644;
constexpr mode_t kPrivateMode = 0600;

// One file a verb writes.
struct OutputFile {
  fs::path path;
  std::string content;
  mode_t mode;
  std::string what;  // printed beside the path
};

int fail(const Status& s) {
  print_error(s, false);
  return 1;
}

// AlreadyExists naming every file of `files` that exists; Ok when none does.
Status refuse_existing(const std::vector<OutputFile>& files, const std::string& hint) {
  std::string existing;
  for (const auto& f : files) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(f.path, ec))) {
      existing += (existing.empty() ? "" : ", ") + f.path.string();
    }
  }
  if (existing.empty()) return Status::Ok();
  return Status::AlreadyExists(existing + " already exist" +
                               (existing.find(", ") == std::string::npos ? "s" : "") +
                               "; nothing written (" + hint + ")");
}

Status write_files(const std::vector<OutputFile>& files, bool overwrite) {
  for (const auto& f : files) {
    CENV_RETURN_IF_ERROR(security::write_credential_file(f.path, f.content, f.mode, overwrite));
    std::cout << "wrote " << f.path.string() << " (" << f.what << ")\n";
  }
  return Status::Ok();
}

// Adds the certificate and key files of `issued`; `who` follows "certificate"/"private key".
void add_issued(std::vector<OutputFile>& files, const IssuedCertificate& issued,
                const fs::path& certificate_path, const fs::path& key_path, const std::string& kind,
                const std::string& who) {
  files.push_back({certificate_path, issued.certificate.pem(), kPublicMode,
                   kind + " certificate" + who + ", valid until " +
                       format_rfc3339(issued.certificate.not_after())});
  files.push_back({key_path, issued.key.pem(), kPrivateMode, kind + " private key" + who});
}

// " of user NAME, groups G1,G2" (or "no groups").
std::string of_user(const std::string& user, const std::string& groups) {
  return " of user " + user + ", " + (groups.empty() ? "no groups" : "groups " + groups);
}

Result<std::vector<OutputFile>> make_init_files(const CertsInitFlags& flags,
                                                const CertificateDirectory& dir) {
  auto ca = CertificateAuthority::create({.days = std::max(flags.days, kCaMinimumDays)});
  if (!ca.ok()) return ca.status();
  auto server = ca->issue_server({.hosts = flags.hosts, .days = flags.days});
  if (!server.ok()) return server.status();
  auto admin = ca->issue_client({.user = std::string(security::kAdminUser),
                                 .groups = {std::string(security::kAdminGroup)},
                                 .days = flags.days});
  if (!admin.ok()) return admin.status();
  auto data_key = security::DataKey::generate();
  if (!data_key.ok()) return data_key.status();
  std::vector<OutputFile> files;
  add_issued(files, IssuedCertificate{ca->certificate(), ca->key()}, dir.ca_certificate(),
             dir.ca_key(), "CA", "");
  files.back().what += ": keep it offline, never in an image or the store";
  add_issued(files, *server, dir.server_certificate(), dir.server_key(), "server", "");
  add_issued(files, *admin, dir.client_certificate(security::kAdminUser),
             dir.client_key(security::kAdminUser), "client",
             of_user(std::string(security::kAdminUser), std::string(security::kAdminGroup)));
  files.push_back({dir.data_key(), data_key->file_text(), kPrivateMode,
                   "data key " + data_key->id() + ", seals secrets at rest"});
  return files;
}

}  // namespace

int run_certs_init(const CertsInitFlags& flags) {
  CertificateDirectory dir{flags.dir};
  auto files = make_init_files(flags, dir);
  if (!files.ok()) return fail(files.status());
  if (!flags.force) {
    Status existing = refuse_existing(*files, "--force overwrites them");
    if (!existing.ok()) return fail(existing);
  }
  std::error_code ec;
  fs::create_directories(dir.dir, ec);
  if (ec) return fail(Status::Unavailable(dir.dir.string() + ": " + ec.message()));
  Status written = write_files(*files, flags.force);
  return written.ok() ? 0 : fail(written);
}

int run_certs_client(const CertsClientFlags& flags) {
  CertificateDirectory dir{flags.dir};
  auto ca = CertificateAuthority::load(dir.ca_certificate(), dir.ca_key());
  if (!ca.ok()) return fail(ca.status());
  auto issued = ca->issue_client(
      {.user = flags.name, .groups = split(flags.groups, ','), .days = flags.days});
  if (!issued.ok()) return fail(issued.status());
  std::vector<OutputFile> files;
  add_issued(files, *issued, dir.client_certificate(flags.name), dir.client_key(flags.name),
             "client", of_user(flags.name, flags.groups));
  Status existing = refuse_existing(files, "remove them to issue new ones");
  if (!existing.ok()) return fail(existing);
  Status written = write_files(files, false);
  return written.ok() ? 0 : fail(written);
}

namespace {

std::string joined(const std::vector<std::string>& parts, const std::string& prefix) {
  std::string text;
  for (const auto& p : parts) {
    if (!text.empty()) text += ", ";
    text += prefix;
    text += p;
  }
  return text;
}

std::string validity_text(const security::Certificate& c) {
  auto now = std::chrono::system_clock::now();
  std::string state = now > c.not_after()    ? "expired"
                      : now < c.not_before() ? "not yet valid"
                                             : "valid now";
  return format_rfc3339(c.not_before()) + " to " + format_rfc3339(c.not_after()) + " (" + state +
         ")";
}

}  // namespace

int run_certs_rotate_data_key(const RotateDataKeyFlags& flags) {
  Home home = Home::from_env();
  if (flags.store.empty()) {
    if (int pid = running_controller_pid(home); pid != 0) {
      return fail(Status::FailedPrecondition(
          "the controller is running (pid " + std::to_string(pid) +
          "): rotate-data-key works on the store offline; run cenv controller stop first"));
    }
  }
  fs::path key_file =
      flags.dir.empty() ? home.root / "data.key" : CertificateDirectory{flags.dir}.data_key();
  std::string store = flags.store.empty() ? default_store_url(home) : flags.store;
  auto report = rotate_data_key(store, key_file);
  if (!report.ok()) {
    return fail(report.status().with_prefix("data key not rotated (run this again to finish)"));
  }
  std::cout << "sealed " << report->secrets << " secret(s) of " << report->environments
            << " Environment(s) in " << store_url_for_display(store) << " again under key "
            << report->key_id << "\n"
            << key_file.string() << ": key " << report->key_id << " (was "
            << report->previous_key_id << ", kept in "
            << security::previous_data_key_file(key_file).string() << ")\n";
  return 0;
}

int run_certs_show(const std::string& file) {
  auto c = security::Certificate::load(file);
  if (!c.ok()) return fail(c.status());
  std::vector<std::string> subject = {"CN=" + c->common_name()};
  for (const auto& o : c->organizations()) subject.push_back("O=" + o);
  std::cout << "Subject:   " << joined(subject, "") << "\n"
            << "Issuer:    CN=" << c->issuer_common_name() << "\n"
            << "Serial:    " << c->serial_hex() << "\n"
            << "Validity:  " << validity_text(*c) << "\n";
  if (c->is_ca()) {
    std::cout << "CA:        yes\n"
              << "Identity:  " << security::ImageIdentity::of_this_build(*c).short_form()
              << " (this cenv build with this CA)\n";
    return 0;
  }
  std::string sans = joined(c->dns_names(), "DNS:");
  std::string ips = joined(c->ip_addresses(), "IP:");
  sans += (sans.empty() || ips.empty() ? "" : ", ") + ips;
  if (!sans.empty()) std::cout << "SANs:      " << sans << "\n";
  auto identity = c->client_identity();
  if (identity.ok() && sans.empty()) {
    std::cout << "User:      " << identity->user << "\n"
              << "Groups:    "
              << (identity->groups.empty() ? "(none)" : joined(identity->groups, "")) << "\n";
  }
  return 0;
}

void add_certs(CLI::App& app, CertsFlags& flags, int& rc) {
  auto* certs = app.add_subcommand(
      "certs", "Make the CA, server and client certificates and the data key (certs/README.md)");
  certs->require_subcommand(1);
  auto* init = certs->add_subcommand(
      "init", "Write a CA, a server certificate, the admin client certificate and a data key");
  init->add_option("--dir", flags.init.dir, "Directory to write into (made if missing)")
      ->required();
  init->add_option("--host", flags.init.hosts,
                   "Host name or IP address of the server (repeatable; localhost and 127.0.0.1 "
                   "are always included)");
  init->add_option("--days", flags.init.days,
                   "Days the server and admin certificates are valid (default 365)");
  init->add_flag("--force", flags.init.force, "Overwrite existing files");
  init->callback([&flags, &rc] { rc = run_certs_init(flags.init); });
  auto* client =
      certs->add_subcommand("client", "Issue a client certificate NAME.crt/NAME.key from DIR's CA");
  client->add_option("name", flags.client.name, "User name (the certificate's CN)")->required();
  client->add_option("--dir", flags.client.dir, "Directory holding ca.crt and ca.key")->required();
  client->add_option("--groups", flags.client.groups, "Comma-separated groups (O values)");
  client->add_option("--days", flags.client.days, "Days the certificate is valid (default 365)");
  client->callback([&flags, &rc] { rc = run_certs_client(flags.client); });
  auto* rotate = certs->add_subcommand(
      "rotate-data-key",
      "Seal every stored secret again under a new data key. Works on the store offline: stop "
      "the controller first (cenv controller stop), start it again after. Run it again to "
      "finish a rotation that stopped half-way; the old key stays as data.key.previous");
  rotate->add_option("--dir", flags.rotate.dir,
                     "Directory holding data.key (default: $CENV_HOME, the local controller's)");
  rotate->add_option("--store", flags.rotate.store,
                     "The controller's store: sqlite:PATH or postgres://... (default: the local "
                     "controller's)");
  rotate->callback([&flags, &rc] { rc = run_certs_rotate_data_key(flags.rotate); });
  auto* show = certs->add_subcommand("show", "Print what a certificate says");
  show->add_option("file", flags.show_file, "PEM certificate file")->required();
  show->callback([&flags, &rc] { rc = run_certs_show(flags.show_file); });
}

}  // namespace cenv::cli
