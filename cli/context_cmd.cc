#include "cli/context_cmd.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "cli/context.h"
#include "cli/context_config.h"
#include "cli/table.h"
#include "controller/security/certificate.h"
#include "controller/security/certificate_directory.h"

namespace cenv::cli {

namespace {

namespace fs = std::filesystem;

int fail(const Status& s) {
  print_error(s, /*from_server=*/false);
  return 1;
}

Result<ContextConfig> load_config(const Home& home) {
  return ContextConfig::load(home.config_file());
}

// The context `flags` describe, its files checked as a client would load them.
Result<RemoteContext> new_context(const ContextAddFlags& flags) {
  if (std::string why = check_context_name(flags.name); !why.empty()) return Status::Invalid(why);
  if (flags.name == kLocalContext) {
    return Status::Invalid("\"local\" is the built-in context of the local controller");
  }
  if (auto host = server_host(flags.server); !host.ok()) {
    return host.status().with_prefix("--server");
  }
  security::CertificateDirectory dir{fs::absolute(flags.certs).lexically_normal()};
  RemoteContext context{.name = flags.name,
                        .server = flags.server,
                        .certificate_authority = dir.ca_certificate(),
                        .client_certificate = dir.client_certificate(flags.user),
                        .client_key = dir.client_key(flags.user)};
  // Checks every file now: a missing or bad one is named at once, not at the first call.
  CENV_RETURN_IF_ERROR(Context::check_remote(context));
  return context;
}

int context_add(const ContextAddFlags& flags) {
  Home home = Home::from_env();
  auto config = load_config(home);
  if (!config.ok()) return fail(config.status());
  if (config->find(flags.name)) {
    return fail(Status::AlreadyExists("context \"" + flags.name +
                                      "\" exists; `cenv context remove " + flags.name + "` first"));
  }
  auto context = new_context(flags);
  if (!context.ok()) return fail(context.status());
  config->contexts.push_back(context.value());
  if (Status s = home.ensure(); !s.ok()) return fail(s);
  if (Status s = config->save(home.config_file()); !s.ok()) return fail(s);
  std::cout << "context \"" << flags.name << "\" added (server " << flags.server << ", user "
            << flags.user << ")\n";
  return 0;
}

int context_use(const std::string& name) {
  Home home = Home::from_env();
  auto config = load_config(home);
  if (!config.ok()) return fail(config.status());
  if (name != kLocalContext && !config->find(name)) {
    return fail(Status::NotFound("no context \"" + name + "\" (`cenv context list` shows them)"));
  }
  config->current_context = name;
  if (Status s = home.ensure(); !s.ok()) return fail(s);
  if (Status s = config->save(home.config_file()); !s.ok()) return fail(s);
  std::cout << "Switched to context \"" << name << "\".\n";
  return 0;
}

// The user a context's client certificate names; "?" when it cannot be read.
std::string context_user(const RemoteContext& context) {
  auto certificate = security::Certificate::load(context.client_certificate);
  return certificate.ok() && !certificate->common_name().empty() ? certificate->common_name() : "?";
}

int context_list(const std::string& context_flag) {
  Home home = Home::from_env();
  auto config = load_config(home);
  if (!config.ok()) return fail(config.status());
  std::string current = Context::chosen_name(config.value(), context_flag);
  std::vector<std::vector<std::string>> rows = {{"CURRENT", "NAME", "SERVER", "USER"}};
  rows.push_back({current == kLocalContext ? "*" : "", std::string(kLocalContext),
                  "unix:" + home.socket().string(), "(local admin)"});
  for (const auto& c : config->contexts) {
    rows.push_back({current == c.name ? "*" : "", c.name, c.server, context_user(c)});
  }
  print_rows(rows, std::cout);
  return 0;
}

int context_current(const std::string& context_flag) {
  auto config = load_config(Home::from_env());
  if (!config.ok()) return fail(config.status());
  std::cout << Context::chosen_name(config.value(), context_flag) << "\n";
  return 0;
}

int context_remove(const std::string& name) {
  Home home = Home::from_env();
  if (name == kLocalContext) return fail(Status::Invalid("the local context cannot be removed"));
  auto config = load_config(home);
  if (!config.ok()) return fail(config.status());
  if (!config->find(name)) return fail(Status::NotFound("no context \"" + name + "\""));
  std::erase_if(config->contexts, [&](const RemoteContext& c) { return c.name == name; });
  if (config->current_context == name) config->current_context = std::string(kLocalContext);
  if (Status s = config->save(home.config_file()); !s.ok()) return fail(s);
  std::cout << "context \"" << name << "\" removed\n";
  return 0;
}

}  // namespace

void add_context_verbs(CLI::App& app, ContextFlags& flags, const std::string& context_flag,
                       int& rc) {
  auto* context = app.add_subcommand(
      "context", "Manage contexts: which controller the CLI talks to ($CENV_HOME/config.yaml)");
  context->require_subcommand(1);
  auto* add = context->add_subcommand("add", "Add a remote controller reached with mutual TLS");
  add->add_option("name", flags.add.name, "Name of the context")->required();
  add->add_option("--server", flags.add.server, "HOST:PORT of the controller")->required();
  add->add_option("--certs", flags.add.certs, "Certificates directory (`cenv certs init`)")
      ->required();
  add->add_option("--user", flags.add.user,
                  "Client certificate USER.crt/USER.key of the directory (default admin)");
  add->callback([&flags, &rc] { rc = context_add(flags.add); });
  auto* use = context->add_subcommand("use", "Make a context the current one");
  use->add_option("name", flags.name, "Name of the context")->required();
  use->callback([&flags, &rc] { rc = context_use(flags.name); });
  context->add_subcommand("list", "List the contexts; * marks the one in use")
      ->callback([&context_flag, &rc] { rc = context_list(context_flag); });
  context->add_subcommand("current", "Print the name of the context in use")
      ->callback([&context_flag, &rc] { rc = context_current(context_flag); });
  auto* remove = context->add_subcommand("remove", "Remove a context");
  remove->add_option("name", flags.name, "Name of the context")->required();
  remove->callback([&flags, &rc] { rc = context_remove(flags.name); });
}

}  // namespace cenv::cli
