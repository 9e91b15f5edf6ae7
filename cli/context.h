#pragma once
// Context: where the CLI talks to a controller, and how. Today there is only the local one:
// the controller of $CENV_HOME, over its unix socket, started in the background when none
// answers (autostart). Every verb gets the Context built once in cli.cc and makes its
// clients with connect(), the one place a ControllerClient is built, so another kind of
// context (a remote controller over TCP with mutual TLS) plugs in here.

#include <memory>

#include "cli/controller_client.h"
#include "cli/home.h"

namespace cenv::cli {

class Context {
 public:
  // The local controller of `home`; `autostart`: start it when none answers.
  static Context local(Home home, bool autostart = true);
  // The local controller of $CENV_HOME (Home::from_env()), autostart on.
  static Context local_from_env();

  // A new client for this context; nothing is dialled until its first call. `options`
  // may turn autostart off for this client, never on when the context has it off.
  std::unique_ptr<ControllerClient> connect(ClientOptions options = {}) const;

  // The local controller's files (socket, lock, log, store).
  const Home& home() const { return home_; }
  bool autostart() const { return autostart_; }

 private:
  Context(Home home, bool autostart) : home_(std::move(home)), autostart_(autostart) {}

  Home home_;
  bool autostart_ = true;
};

}  // namespace cenv::cli
