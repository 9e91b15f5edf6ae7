#!/bin/sh
# Runs at image build, in this module's folder, with the options as variables.
set -eu
install -m 0755 greet.sh /usr/local/bin/greet
# The installation's options become the script's defaults.
mkdir -p /etc/greeter
printf 'GREETING=%s\nSHOUT=%s\n' "$GREETING" "$SHOUT" > /etc/greeter/defaults
mkdir -p /srv/greeter
/usr/local/bin/greet visitor > /srv/greeter/index.html
