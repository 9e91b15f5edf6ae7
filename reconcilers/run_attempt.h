#pragma once
// RunAttempt: one attempt of a CommandRun running on a thread of its own, as the CommandRun
// reconciler (commandrun.h) follows it. The seam between the reconciler and where the attempt
// runs: CommandRunAttempt (commandrun_attempt.h) runs it in a container on this Docker host or
// as an exec in a Service's container; SwarmRunAttempt (swarm_run_attempt.h) as a one-shot
// swarm service. Each is started by its own start call; from then on the reconciler sees only
// this interface. Thread-safe: every method may be called from any thread while it runs.

#include <string>

#include "reconcilers/commandrun_status.h"

namespace cenv {

class RunAttempt {
 public:
  virtual ~RunAttempt() = default;
  // Kills the attempt (deleting the run); it ends Cancelled.
  virtual void cancel() = 0;
  // Stops following without killing (controller shutdown); the outcome says detached.
  virtual void detach() = 0;
  // Waits for the thread (and a kill under way) to end.
  virtual void join() = 0;
  // Whether the thread has ended, and its outcome then.
  virtual bool done() = 0;
  virtual AttemptOutcome outcome() = 0;
  virtual int number() const = 0;
  virtual const std::string& uid() const = 0;
};

}  // namespace cenv
