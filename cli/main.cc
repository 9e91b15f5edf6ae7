#include <sys/stat.h>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // What cenv and the controller it starts create under $CENV_HOME (the database and its WAL,
  // the log, the pid, lock and address files, the socket, db/'s password) is the user's
  // alone: files 0600, directories 0700, whichever code or library creates them. Elsewhere
  // cenv writes only its own temporary files (edit, diff), private too; the programs it runs
  // for the user ($EDITOR, the diff program) get the user's umask back.
  const mode_t user_umask = umask(077);
  return cenv::cli::run(argc, argv, user_umask);
}
