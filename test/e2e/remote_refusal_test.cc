// Who the mutual-TLS port refuses (DESIGN section 7): a client without a certificate, with one
// from another CA, with an expired one, and one presenting another image identity. Raw gRPC
// calls show the server's own refusals; the CLI's messages are checked beside them.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include "api/limits.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "controller/security/certificate_authority.h"
#include "test/e2e/cenv_runner.h"
#include "test/e2e/remote_fixture.h"

namespace cenv::e2e {
namespace {

using security::CertificateAuthority;

struct ClientFiles {
  std::string ca_pem;
  std::string certificate_pem;  // empty: no client certificate
  std::string key_pem;
};

// Get of namespace default's Environment over `channel`, presenting `identity` (none when
// empty).
grpc::Status get_default(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& identity) {
  auto stub = v1::Cenv::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!identity.empty()) ctx.AddMetadata("cenv-identity", identity);
  v1::GetRequest req;
  req.set_kind("Environment");
  req.set_name("default");
  v1::ObjectResponse resp;
  return stub->Get(&ctx, req, &resp);
}

// The same over a fresh TLS channel with `files`.
grpc::Status get_default(const std::string& address, const ClientFiles& files,
                         const std::string& identity) {
  grpc::SslCredentialsOptions ssl{files.ca_pem, files.key_pem, files.certificate_pem};
  return get_default(grpc::CreateChannel(address, grpc::SslCredentials(ssl)), identity);
}

// The identity the controller expects over TLS, as its Hello says.
std::string server_identity(const std::string& address, const ClientFiles& files) {
  grpc::SslCredentialsOptions ssl{files.ca_pem, files.key_pem, files.certificate_pem};
  auto stub = v1::Cenv::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(ssl)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::HelloRequest req;
  v1::HelloResponse resp;
  REQUIRE(stub->Hello(&ctx, req, &resp).ok());
  return resp.identity();
}

ClientFiles admin_files(const std::filesystem::path& certs) {
  return {CenvRunner::slurp(certs / "ca.crt"), CenvRunner::slurp(certs / "admin.crt"),
          CenvRunner::slurp(certs / "admin.key")};
}

// A client certificate of `certs`' CA that expired yesterday, as USER.crt and USER.key.
void write_expired_client(const std::filesystem::path& certs, const std::string& user) {
  auto ca = CertificateAuthority::load(certs / "ca.crt", certs / "ca.key");
  REQUIRE(ca.ok());
  auto now = std::chrono::system_clock::now();
  security::ClientCertificateOptions options;
  options.user = user;
  options.validity = security::Validity{now - std::chrono::hours(48), now - std::chrono::hours(24)};
  auto issued = ca->issue_client(options);
  REQUIRE(issued.ok());
  std::ofstream(certs / (user + ".crt")) << issued->certificate.pem();
  std::ofstream(certs / (user + ".key")) << issued->key.pem();
}

TEST_CASE(
    "the TLS port refuses clients without a certificate, with another CA's or an expired "
    "one, and serves the admin certificate",
    "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const ClientFiles admin = admin_files(remote.certs());
  const std::string identity = server_identity(remote.address(), admin);
  CHECK(get_default(remote.address(), admin, identity).ok());

  ClientFiles anonymous{admin.ca_pem, "", ""};
  CHECK(get_default(remote.address(), anonymous, identity).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  const auto other = cenv.home() / "other-certs";
  REQUIRE(cenv.run("certs init --dir '" + other.string() + "'").exit_code == 0);
  ClientFiles foreign{admin.ca_pem, CenvRunner::slurp(other / "admin.crt"),
                      CenvRunner::slurp(other / "admin.key")};
  CHECK(get_default(remote.address(), foreign, identity).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  write_expired_client(remote.certs(), "old");
  ClientFiles expired{admin.ca_pem, CenvRunner::slurp(remote.certs() / "old.crt"),
                      CenvRunner::slurp(remote.certs() / "old.key")};
  CHECK(get_default(remote.address(), expired, identity).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
}

// Session tickets the server sent on the connection of handshake() (read until its first bytes
// of HTTP/2, which follow any ticket).
int tickets_seen = 0;
int count_ticket(SSL*, SSL_SESSION*) {
  ++tickets_seen;
  return 0;  // not kept
}

// A TLS handshake with the admin certificate, offering only `version` (TLS1_2_VERSION...):
// the protocol agreed ("TLSv1.3"), or "refused". Sets tickets_seen.
std::string handshake(const std::string& address, const ClientFiles& files, int version) {
  size_t colon = address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  REQUIRE(inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) == 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx);
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  BIO* cert_bio =
      BIO_new_mem_buf(files.certificate_pem.data(), static_cast<int>(files.certificate_pem.size()));
  BIO* key_bio = BIO_new_mem_buf(files.key_pem.data(), static_cast<int>(files.key_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  REQUIRE(cert);
  REQUIRE(key);
  REQUIRE(SSL_CTX_use_certificate(ctx, cert) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx, key) == 1);
  static const unsigned char kH2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kH2, sizeof kH2);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx, count_ticket);
  tickets_seen = 0;
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string agreed = SSL_connect(ssl) == 1 ? SSL_get_version(ssl) : "refused";
  if (agreed != "refused") {
    char settings[64];
    CHECK(SSL_read(ssl, settings, sizeof settings) > 0);  // the server's HTTP/2 SETTINGS
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  close(fd);
  return agreed;
}

TEST_CASE("the TLS port speaks TLS 1.3 without session tickets and refuses TLS 1.2",
          "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const ClientFiles admin = admin_files(remote.certs());
  CHECK(handshake(remote.address(), admin, TLS1_3_VERSION) == "TLSv1.3");
  // No session ticket: a CLI call is a new process and never resumes one; making it costs.
  CHECK(tickets_seen == 0);
  CHECK(handshake(remote.address(), admin, TLS1_2_VERSION) == "refused");
}

TEST_CASE("over TLS the watch limit is the certificate's user's, whatever client it names",
          "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const ClientFiles admin = admin_files(remote.certs());
  const std::string identity = server_identity(remote.address(), admin);
  grpc::SslCredentialsOptions ssl{admin.ca_pem, admin.key_pem, admin.certificate_pem};
  auto stub = v1::Cenv::NewStub(grpc::CreateChannel(remote.address(), grpc::SslCredentials(ssl)));
  struct Watch {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader;
  };
  // Each names another client, as many processes would: the user's limit holds for all.
  auto open = [&](int n) {
    auto w = std::make_unique<Watch>();
    w->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    w->ctx.AddMetadata("cenv-identity", identity);
    w->ctx.AddMetadata("cenv-client", "pid-" + std::to_string(n));
    v1::WatchRequest req;
    req.set_kind("Environment");
    w->reader = stub->Watch(&w->ctx, req);
    return w;
  };
  std::vector<std::unique_ptr<Watch>> watches;
  v1::WatchEvent ev;
  for (size_t i = 0; i < kMaxWatchesPerClient; ++i) {
    watches.push_back(open(static_cast<int>(i)));
    REQUIRE(watches.back()->reader->Read(&ev));  // the list: the watch is admitted
  }
  auto refused = open(-1);
  while (refused->reader->Read(&ev)) {
  }
  grpc::Status status = refused->reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(has(status.error_message(),
            "too many watches: user admin has " + std::to_string(kMaxWatchesPerClient) + " open"));
  for (auto& w : watches) w->ctx.TryCancel();
  for (auto& w : watches) w->reader->Finish();
}

TEST_CASE(
    "the CLI names the certificate that cannot work: expired, from another CA, or not "
    "trusted by the server",
    "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  write_expired_client(remote.certs(), "old");
  auto expired = cenv.run("context add old --server " + remote.address() + " --certs '" +
                          remote.certs().string() + "' --user old");
  CHECK(expired.exit_code == 1);
  CHECK(has(expired.err, "context \"old\": " + (remote.certs() / "old.crt").string()));
  CHECK(has(expired.err, "expired"));

  // A context of another installation: its CA did not sign the controller's certificate.
  const auto other = cenv.home() / "other-certs";
  REQUIRE(cenv.run("certs init --dir '" + other.string() + "'").exit_code == 0);
  REQUIRE(cenv.run("context add other --server " + remote.address() + " --certs '" +
                   other.string() + "'")
              .exit_code == 0);
  auto foreign = cenv.run("get env --context other");
  CHECK(foreign.exit_code == 1);
  CHECK(has(foreign.err, "cannot reach the controller of context \"other\""));
  CHECK(has(foreign.err, "mutual TLS failed"));
  CHECK_FALSE(has(foreign.err, "ssl_transport_security.cc"));  // gRPC's own log stays quiet
}

TEST_CASE("a client presenting another image identity, or none, is refused before any call",
          "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const ClientFiles admin = admin_files(remote.certs());
  const std::string identity = server_identity(remote.address(), admin);
  REQUIRE(identity.size() == 64);

  const std::string wrong(64, '0');
  grpc::Status mismatched = get_default(remote.address(), admin, wrong);
  CHECK(mismatched.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(has(mismatched.error_message(),
            "image identity mismatch: this client is 000000000000, "
            "the controller is " +
                identity.substr(0, 12)));
  CHECK(has(mismatched.error_message(), "cenv client of the controller's image"));
  grpc::Status silent = get_default(remote.address(), admin, "");
  CHECK(silent.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(has(silent.error_message(), "(none sent)"));

  // The CLI's own client matches, and `cenv version` shows both identities.
  REQUIRE(cenv.run("context add r --server " + remote.address() + " --certs '" +
                   remote.certs().string() + "'")
              .exit_code == 0);
  auto version = cenv.run("version --context r");
  INFO(version.out << version.err);
  CHECK(version.exit_code == 0);
  CHECK(has(version.out, "Client Identity: " + identity.substr(0, 12)));
  CHECK(has(version.out, "Server Identity: " + identity.substr(0, 12)));
  // Over the unix socket the identity is the build's alone: another one.
  auto local = cenv.run("version");
  CHECK(local.exit_code == 0);
  CHECK_FALSE(has(local.out, identity.substr(0, 12)));
}

TEST_CASE("on the unix socket a client may send no identity, but not another one",
          "[e2e][remote]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  auto socket = grpc::CreateChannel("unix:" + (cenv.home() / "run" / "controller.sock").string(),
                                    grpc::InsecureChannelCredentials());
  CHECK(get_default(socket, "").ok());
  grpc::Status other = get_default(socket, std::string(64, 'f'));
  CHECK(other.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(has(other.error_message(), "this client is ffffffffffff"));
  CHECK(has(other.error_message(), "`cenv controller stop`"));
  // The CLI's own identity on the socket is the build's: it matches.
  CHECK(cenv.run("get env -o name").out == "environment/default\n");
}

TEST_CASE("a controller reached by a host name its certificate does not carry is refused",
          "[e2e][remote]") {
  CenvRunner cenv;
  // 127.0.0.2 is loopback too, but the certificate names only localhost and 127.0.0.1.
  RemoteController remote(cenv, "127.0.0.2");
  REQUIRE(cenv.run("context add r --server " + remote.address() + " --certs '" +
                   remote.certs().string() + "'")
              .exit_code == 0);
  auto r = cenv.run("get env --context r");
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "cannot reach the controller of context \"r\""));
  CHECK(has(r.err, "Peer name 127.0.0.2 is not in peer certificate"));
}

}  // namespace
}  // namespace cenv::e2e
