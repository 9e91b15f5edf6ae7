#!/usr/bin/env python3
"""Measures the dashboard in headless Chromium (run by bench/dashboard.sh; the browser set-up is the e2e test's).

  1. first paint: an Environment's page loaded from scratch until its Services table shows all
     COUNT rows, in the page's own clock (performance.now() from the navigation start), median
     and max of RUNS loads; Chromium's first-contentful-paint beside it.
  2. change to visible: CHANGES label changes of one Service, each made with `cenv patch`, while
     its object page is open; the page stamps (Date.now()) the moment the new label is in the
     DOM. A change commits somewhere between the start of `cenv patch` and its return, so the
     latency lies between (visible - return) and (visible - start): both are reported (p50, p99).
  3. memory: the controller's RSS before, with PAGES Environment pages open (each a list and
     two watches), after CHANGES more changes seen by all of them, and after they are closed.

Prints "key value" lines for the shell script. Environment: CENV, URL (of /ui/), NS, COUNT,
CONTROLLER_PID, RUNS, CHANGES, PAGES.
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "e2e"))
from dashboard_browser import browser, wait_for  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CENV = os.environ["CENV"]
URL = os.environ["URL"]
NS = os.environ["NS"]
COUNT = int(os.environ["COUNT"])
PID = int(os.environ["CONTROLLER_PID"])
RUNS = int(os.environ.get("RUNS", "5"))
CHANGES = int(os.environ.get("CHANGES", "200"))
PAGES = int(os.environ.get("PAGES", "20"))

FIRST_ROWS = """
window.__bench = {};
new MutationObserver(() => {
  if (window.__bench.rows) return;
  if (document.querySelectorAll('#services-table tbody tr').length >= %d) {
    window.__bench.rows = performance.now();
  }
}).observe(document, {childList: true, subtree: true});
""" % COUNT

SEEN = """
window.__seen = {};
new MutationObserver(() => {
  const head = document.getElementById('object-head');
  if (!head) return;
  const m = /bench-seq=(\\d+)/.exec(head.textContent);
  if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
}).observe(document.body, {childList: true, subtree: true, characterData: true});
"""


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def open_streams_now():
    metrics = subprocess.run(["curl", "-s", URL.replace("/ui/", "/metrics")], capture_output=True,
                             text=True).stdout
    found = [l.split()[1] for l in metrics.splitlines() if l.startswith("cenv_dashboard_streams ")]
    return found[0] if found else "?"


def cenv(*args):
    subprocess.run([CENV, *args], check=True, capture_output=True, timeout=120)


def percentile(values, p):
    s = sorted(values)
    rank = max(1, int(p / 100 * len(s) + 0.999999))
    return s[rank - 1]


def first_paint(driver):
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_ROWS})
    rows, fcp = [], []
    for _ in range(RUNS):
        driver.get("about:blank")
        driver.get(URL + f"#/env/{NS}")
        wait_for("all services in the table",
                 lambda: driver.execute_script("return window.__bench && window.__bench.rows"), 30)
        rows.append(driver.execute_script("return window.__bench.rows"))
        fcp.append(driver.execute_script(
            "const e = performance.getEntriesByName('first-contentful-paint')[0];"
            "return e ? e.startTime : -1"))
    print(f"first_paint_median_ms {statistics.median(rows):.0f}")
    print(f"first_paint_max_ms {max(rows):.0f}")
    print(f"first_contentful_paint_median_ms {statistics.median(fcp):.0f}")


def change_latency(driver):
    driver.get("about:blank")
    driver.get(URL + f"#/object/Service/{NS}/svc-00001")
    wait_for("the service's page", lambda: driver.find_element(By.ID, "object-head").text)
    driver.execute_script(SEEN)
    upper, lower = [], []
    for i in range(1, CHANGES + 1):
        patch = json.dumps({"metadata": {"labels": {"bench-seq": str(i)}}})
        t0 = time.time() * 1000
        cenv("patch", "service", "svc-00001", "-n", NS, "-p", patch)
        t1 = time.time() * 1000
        seen = wait_for(f"change {i} in the page",
                        lambda: driver.execute_script(f"return window.__seen['{i}']"), 10)
        upper.append(seen - t0)
        lower.append(seen - t1)
    print(f"change_visible_p50_upper_ms {percentile(upper, 50):.0f}")
    print(f"change_visible_p99_upper_ms {percentile(upper, 99):.0f}")
    print(f"change_visible_p50_lower_ms {percentile(lower, 50):.0f}")
    print(f"change_visible_p99_lower_ms {percentile(lower, 99):.0f}")
    print(f"cenv_patch_median_ms {statistics.median([u - l for u, l in zip(upper, lower)]):.0f}")


def memory(driver):
    driver.get("about:blank")
    time.sleep(1)
    print(f"open_streams_before_pages {open_streams_now()}")
    print(f"rss_before_pages_kib {rss_kib()}")
    first = driver.current_window_handle
    tabs = []
    for i in range(PAGES):
        driver.switch_to.new_window("tab")
        tabs.append(driver.current_window_handle)
        driver.get(URL + f"#/env/{NS}")
        wait_for(f"page {i + 1}", lambda: len(driver.find_elements(
            By.CSS_SELECTOR, "#services-table tbody tr")) >= COUNT, 30)
    time.sleep(1)
    print(f"rss_with_pages_kib {rss_kib()}")
    print(f"open_streams {open_streams_now()}")
    # CHANGES more changes, every one of them sent to every open page.
    for i in range(CHANGES):
        patch = json.dumps({"metadata": {"labels": {"bench-mem": str(i)}}})
        cenv("patch", "service", f"svc-{i % COUNT + 1:05d}", "-n", NS, "-p", patch)
    time.sleep(2)
    print(f"rss_after_changes_kib {rss_kib()}")
    for t in tabs:
        driver.switch_to.window(t)
        driver.close()
    driver.switch_to.window(first)
    time.sleep(2)
    print(f"rss_after_close_kib {rss_kib()}")
    print(f"open_streams_after_close {open_streams_now()}")


def main():
    driver = browser()
    try:
        first_paint(driver)
        change_latency(driver)
        memory(driver)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
