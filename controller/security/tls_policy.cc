#include "controller/security/tls_policy.h"

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

namespace cenv::security {

namespace {

// OpenSSL's system configuration with the ssl_conf module: loading it again replaces what the
// system's openssl.cnf set (every SSL_CTX made afterwards in this process follows it). Debian's
// default cipher level is kept for TLS 1.2 and below, which this refuses anyway.
constexpr char kTls13Only[] =
    "openssl_conf = cenv_openssl\n"
    "[cenv_openssl]\n"
    "ssl_conf = cenv_ssl\n"
    "[cenv_ssl]\n"
    "system_default = cenv_tls\n"
    "[cenv_tls]\n"
    "Protocol = -ALL, TLSv1.3\n"
    "MinProtocol = TLSv1.3\n"
    "CipherString = DEFAULT:@SECLEVEL=2\n"
    // No session tickets: every CLI call is a new process with a new connection, so none is
    // ever resumed, and issuing one costs the server a session copy per handshake.
    "NumTickets = 0\n";

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

}  // namespace

Status require_tls13_in_process() {
  // The ssl_conf module is registered by libssl's initialisation.
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr) != 1) {
    return Status::Internal("cannot initialise OpenSSL: " + openssl_errors());
  }
  BIO* bio = BIO_new_mem_buf(kTls13Only, static_cast<int>(sizeof kTls13Only - 1));
  CONF* conf = NCONF_new(nullptr);
  long error_line = 0;
  Status result = Status::Ok();
  if (!bio || !conf || NCONF_load_bio(conf, bio, &error_line) <= 0) {
    result = Status::Internal("cannot read the TLS 1.3 configuration (line " +
                              std::to_string(error_line) + "): " + openssl_errors());
  } else if (CONF_modules_load(conf, nullptr, 0) <= 0) {
    result = Status::Internal("OpenSSL refused the TLS 1.3 configuration: " + openssl_errors());
  }
  NCONF_free(conf);
  BIO_free(bio);
  return result;
}

}  // namespace cenv::security
