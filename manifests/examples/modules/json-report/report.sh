#!/bin/sh
# json-report: "key: type" for each member of the JSON object on stdin.
set -eu
exec jq -r 'to_entries[] | "\(.key): \(.value | type)"'
