#pragma once
// Context: where the CLI talks to a controller, and how (DESIGN section 1). `local` is the
// controller of $CENV_HOME, over its unix socket, started in the background when none answers
// (autostart); a remote context (context_config.h) is a controller on HOST:PORT reached with
// mutual TLS, never started. Every verb gets the Context built once in cli.cc and makes its
// clients with connect(), the one place a ControllerClient is built.

#include <memory>
#include <string>
#include <string_view>

#include "cli/context_config.h"
#include "cli/controller_client.h"
#include "cli/home.h"

namespace cenv::cli {

class Context {
 public:
  // The local controller of `home`; `autostart`: start it when none answers.
  static Context local(Home home, bool autostart = true);
  // The local controller of $CENV_HOME (Home::from_env()), autostart on.
  static Context local_from_env();
  // The remote controller `remote` names. Reads its CA, client certificate and key; an error
  // names the context and the file (missing, or a malformed CA). Cheap: every command does it.
  static Result<Context> remote(Home home, const RemoteContext& remote);
  // Ok when `remote`'s files are all there and right: the key is the client certificate's, and
  // the certificate is a client certificate of the CA, valid now. Errors name the context and
  // the file.
  static Status check_remote(const RemoteContext& remote);
  // The context to use: `flag` (--context) if set, else $CENV_CONTEXT, else the current context
  // of home's config.yaml, else local. NotFound naming an unknown context; the config's or
  // remote()'s errors otherwise.
  static Result<Context> resolve(Home home, std::string_view flag);
  // The name of the context resolve() picks with `config` (home's config.yaml): `flag`, else
  // $CENV_CONTEXT, else the config's current context, else "local".
  static std::string chosen_name(const ContextConfig& config, std::string_view flag);

  // A new client for this context; nothing is dialled until its first call. `options`
  // may turn autostart off for this client, never on when the context has it off.
  std::unique_ptr<ControllerClient> connect(ClientOptions options = {}) const;

  // The context's name ("local" for the local controller).
  const std::string& name() const { return endpoint_.context; }
  bool is_local() const { return endpoint_.local; }
  // The image identity this client presents (image_identity.h), 64 hex digits.
  const std::string& identity() const { return endpoint_.identity; }
  // The local controller's files (socket, lock, log, store).
  const Home& home() const { return home_; }
  bool autostart() const { return autostart_; }

 private:
  Context(Home home, Endpoint endpoint, bool autostart)
      : home_(std::move(home)), endpoint_(std::move(endpoint)), autostart_(autostart) {}

  Home home_;
  Endpoint endpoint_;
  bool autostart_ = true;
};

}  // namespace cenv::cli
