#pragma once
// `cenv certs init|client|show`: make a CA, the controller's certificate, client certificates
// and the data key in a directory (certs/README.md), and print what a certificate says.

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace cenv::cli {

struct CertsInitFlags {
  std::string dir;                 // where to write (made if missing)
  std::vector<std::string> hosts;  // server SANs besides localhost and 127.0.0.1
  int days = 365;                  // validity of the server and admin certificates
  bool force = false;              // overwrite existing files
};

struct CertsClientFlags {
  std::string name;    // the user: CN, and the file names NAME.crt, NAME.key
  std::string dir;     // holds ca.crt and ca.key; the new files go there
  std::string groups;  // comma-separated: one O each
  int days = 365;
};

struct CertsFlags {
  CertsInitFlags init;
  CertsClientFlags client;
  std::string show_file;
};

// Writes ca.crt, ca.key, server.crt, server.key, admin.crt, admin.key and data.key into
// `flags.dir` and prints each path. Refuses (exit 1, nothing written) when one exists, unless
// `flags.force`. The CA is valid for 10 years, or `days` if longer.
int run_certs_init(const CertsInitFlags& flags);

// Issues NAME.crt and NAME.key in `flags.dir`, signed by its ca.crt/ca.key. Refuses (exit 1)
// when either file exists.
int run_certs_client(const CertsClientFlags& flags);

// Prints subject, user and groups, issuer, serial, validity, SANs of a PEM certificate file;
// for a CA, also this build's image identity with it. Exit 1 when it cannot be read.
int run_certs_show(const std::string& file);

// Adds `certs` and its verbs to `app`; a verb's callback sets `rc`. `flags` and `rc` must
// outlive the parse.
void add_certs(CLI::App& app, CertsFlags& flags, int& rc);

}  // namespace cenv::cli
