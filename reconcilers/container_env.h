#pragma once
// The environment variables of a container cenv runs for a Service or a CommandRun: one rule
// for both kinds (their CRDs share spec.env and spec.secretEnv). Pure; thread-safe.

#include <string>
#include <vector>

#include "api/environment_secrets.h"
#include "api/object.h"
#include "api/status.h"

namespace cenv {

// The variables of a container run for `owner` (a Service or a CommandRun) in `environment`,
// as "NAME=value" sorted by name. Precedence, later wins on the same name:
//   1. the Environment's spec.variables;
//   2. the owner's spec.env (name, value);
//   3. the owner's spec.secretEnv (name, secretKey), each value the Environment's
//      spec.secrets[secretKey] as `secrets` opens it (stored sealed).
// What the CRD schemas already refuse is skipped: env items that are not objects, variables
// and secrets whose value is not a string (a secretEnv naming one is an error, below).
// On failure: Invalid when a secretEnv item names a secret the Environment does not have,
// with the field path spec.secretEnv[<i>].secretKey and the message
// "spec.secretEnv[<i>].secretKey: Environment <name> has no secret \"<key>\"", or when the
// secret does not open (tampered, or sealed under a key `secrets` lacks; nullptr: no key at
// all), "spec.secretEnv[<i>].secretKey: Environment \"<name>\" secret \"<key>\": <why>".
// The result holds plaintext: never log it or write it into an object.
Result<std::vector<std::string>> container_env(const Object& owner, const Object& environment,
                                               const SecretOpener* secrets);

}  // namespace cenv
