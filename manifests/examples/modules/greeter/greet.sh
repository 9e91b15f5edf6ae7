#!/bin/sh
# greet NAME...: one greeting per name, with the options the module was installed with.
set -eu
. /etc/greeter/defaults
[ "$#" -gt 0 ] || set -- world
for name in "$@"; do
  line="$GREETING, $name!"
  if [ "$SHOUT" = true ]; then line=$(printf '%s' "$line" | tr '[:lower:]' '[:upper:]'); fi
  printf '%s\n' "$line"
done
