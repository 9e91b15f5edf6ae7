#pragma once
// `cenv context add|use|list|current|remove`: the contexts of $CENV_HOME/config.yaml
// (context_config.h), as `kubectl config` manages a kubeconfig's.

#include <string>

namespace CLI {
class App;
}

namespace cenv::cli {

struct ContextAddFlags {
  std::string name;
  std::string server;  // HOST:PORT
  std::string certs;   // the certificates directory: ca.crt, USER.crt, USER.key
  std::string user = "admin";
};

struct ContextFlags {
  ContextAddFlags add;
  std::string name;  // use, remove
};

// Adds `context` and its verbs to `app`; a verb's callback sets `rc`. `context_flag` is the
// global --context (what `list` marks and `current` prints when set). All must outlive the parse.
void add_context_verbs(CLI::App& app, ContextFlags& flags, const std::string& context_flag,
                       int& rc);

}  // namespace cenv::cli
