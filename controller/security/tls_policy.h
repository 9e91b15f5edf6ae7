#pragma once
// TLS 1.3 only, for a controller that serves the API over TLS (`--listen`). gRPC 1.51 (Debian
// 12) has no option for the lowest TLS version: it sets TLS 1.2 as the minimum on each context
// it makes. OpenSSL's Protocol setting (SSL_OP_NO_TLSv1_2 and below) is kept beside that
// minimum, so it is given to the process's "system_default" TLS configuration, which every TLS
// context made afterwards starts from: the API listener, and also HTTPS git fetches in the same
// process (libgit2), which then need a TLS 1.3 server too.

#include "api/status.h"

namespace cenv::security {

// From now on, every TLS context this process makes refuses TLS 1.2 and older. Internal when
// OpenSSL refuses the configuration. Contexts made before keep what they had.
Status require_tls13_in_process();

}  // namespace cenv::security
