#!/usr/bin/env bash
# The dashboard (issue 14) in headless Chromium against a controller holding one Environment
# with 50 Services (no Docker: the objects are what the pages show, not containers):
#   1. first paint: the Environment's page from scratch until all 50 Services are in its table
#      (the page's own clock from the navigation start; median of 5). Target <= 300 ms.
#   2. change to visible: 200 label changes of a Service (`cenv patch`) while its page is open,
#      until the page shows each; p99. A change commits while `cenv patch` runs, so the latency
#      lies between "from the patch's return" and "from its start": both are printed, and the
#      verdict is on the upper bound. Target <= 100 ms.
#   3. memory: the controller's RSS with no page, with 20 Environment pages open (a list and
#      two watch streams each), after 200 more changes sent to all of them, and after closing
#      them. Target: bounded (the growth with 20 pages stays within a few MiB and is returned).
# Needs chromium, chromium-driver and python3-selenium (scripts/setup installs them).
#
#   CENV_BIN=build/cli/cenv bench/dashboard.sh      (BENCH_SERVICES, BENCH_CHANGES, BENCH_PAGES)
set -euo pipefail
BENCH_NO_DOCKER=1
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

COUNT="${BENCH_SERVICES:-50}"
CHANGES="${BENCH_CHANGES:-200}"
PAGES="${BENCH_PAGES:-20}"
PYTHON=/usr/bin/python3  # Debian's, which has python3-selenium
for f in /usr/bin/chromium /usr/bin/chromedriver; do
  [[ -x "$f" ]] || { echo "error: $f is missing (scripts/setup installs it)" >&2; exit 1; }
done
"$PYTHON" -c 'import selenium' 2>/dev/null || { echo "error: python3-selenium is missing" >&2; exit 1; }

NS="ui-$$"
new_home dashboard
export CENV_HOME="$HOME_DIR"
start_controller "$HOME_DIR"
gen_services "$BENCH_TMP/services.yaml" "$NS" "$((COUNT + 1))"
"$CENV_BIN" apply -f "$BENCH_TMP/services.yaml" >/dev/null
url="http://$(cat "$HOME_DIR/run/http.addr")/ui/"

echo "dashboard: $COUNT services in one Environment, $CHANGES changes, $PAGES pages; $(chromium --version 2>/dev/null)"
machine_line
CENV="$CENV_BIN" URL="$url" NS="$NS" COUNT="$COUNT" CHANGES="$CHANGES" PAGES="$PAGES" \
  CONTROLLER_PID="$(cat "$HOME_DIR/run/controller.pid")" \
  "$PYTHON" "$(dirname "$0")/dashboard_measure.py" >"$BENCH_TMP/out.txt"
val() { awk -v k="$1" '$1 == k { print $2 }' "$BENCH_TMP/out.txt"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

printf '\n%-58s %12s %-12s %s\n' measure value target verdict
printf '%-58s %9s ms %-12s %s\n' "first paint, $COUNT services (median of 5)" "$(val first_paint_median_ms)" \
  "<= 300 ms" "$(verdict "$(val first_paint_median_ms)" '<=' 300)"
printf '%-58s %9s ms\n' "first paint, $COUNT services (max of 5)" "$(val first_paint_max_ms)"
printf '%-58s %9s ms\n' "first contentful paint (median of 5)" "$(val first_contentful_paint_median_ms)"
printf '%-58s %9s ms %-12s %s\n' "change visible, p99 of $CHANGES, from the patch's start" \
  "$(val change_visible_p99_upper_ms)" "<= 100 ms" "$(verdict "$(val change_visible_p99_upper_ms)" '<=' 100)"
printf '%-58s %9s ms\n' "change visible, p99 of $CHANGES, from the patch's return" "$(val change_visible_p99_lower_ms)"
printf '%-58s %9s ms\n' "change visible, p50, from start / from return" \
  "$(val change_visible_p50_upper_ms) / $(val change_visible_p50_lower_ms)"
printf '%-58s %9s ms\n' "cenv patch itself (median)" "$(val cenv_patch_median_ms)"
printf '%-58s %8s MiB\n' "controller RSS, no page" "$(mib "$(val rss_before_pages_kib)")"
printf '%-58s %8s MiB   (%s streams open)\n' "controller RSS, $PAGES pages open" \
  "$(mib "$(val rss_with_pages_kib)")" "$(val open_streams)"
printf '%-58s %8s MiB\n' "controller RSS, $PAGES pages, after $CHANGES more changes" "$(mib "$(val rss_after_changes_kib)")"
printf '%-58s %8s MiB   (%s streams open)\n' "controller RSS, pages closed" \
  "$(mib "$(val rss_after_close_kib)")" "$(val open_streams_after_close)"
