#!/usr/bin/env python3
"""The dashboard in headless Chromium, driven by Selenium (run by dashboard_test.cc).

Against a controller already started for $CENV_HOME / $CENV_INSTANCE: applies an Environment
(with a secret) and a Service, opens /ui/ and checks that the Environment list renders; opens the
Environment and applies a second Service, which must appear without a reload; applies a
CommandRun that prints a line a second and checks that its lines appear in the object page while
it still runs; checks that the secret's value is nowhere in the pages. Saves a screenshot of each
page under $ARTIFACTS. Exits 0 on success, 1 with the reason on failure.

Environment: CENV (the cenv binary), CENV_HOME, CENV_INSTANCE, CENV_CONTAINER_LABELS, NS (the
Environment to create), ARTIFACTS (a folder for screenshots).
"""

import json
import os
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By

CENV = os.environ.get("CENV", "cenv")
NS = os.environ.get("NS", "")
ARTIFACTS = os.environ.get("ARTIFACTS", ".")
SECRET = "s3cr3t-dashboard-value"


def cenv(*args, stdin=None):
    r = subprocess.run([CENV, *args], input=stdin, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"cenv {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout


def service(name):
    return f"""apiVersion: cenv.io/v1
kind: Service
metadata: {{name: {name}, namespace: {NS}}}
spec:
  command: [busybox, httpd, -f, -p, "8080"]
  ports: [{{containerPort: 8080, hostPort: 0, hostIP: 127.0.0.1}}]
"""


def wait_for(what, pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the element is not there yet
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def row_names(driver, table_id):
    return [
        r.get_attribute("data-name")
        for r in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    ]


def click_link(driver, text):
    """Clicks the link `text`, again if the page re-rendered it meanwhile."""
    wait_for(f"a click on {text}", lambda: driver.find_element(By.LINK_TEXT, text).click() or True)


def shot(driver, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + ".png")
    driver.save_screenshot(path)
    print(f"screenshot: {path}")


def browser():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=options)


def main():
    address = open(os.path.join(os.environ["CENV_HOME"], "run", "http.addr")).read().strip()
    url = f"http://{address}/ui/"
    cenv("apply", "-f", "-", stdin=f"""apiVersion: cenv.io/v1
kind: Environment
metadata: {{name: {NS}}}
spec:
  baseImage: cenv/base:bookworm
  secrets: {{token: {SECRET}}}
---
""" + service("web"))

    driver = browser()
    try:
        # The Environment list renders.
        driver.get(url)
        wait_for("the environment in the list", lambda: NS in row_names(driver, "environments"))
        wait_for("the environment to be Ready", lambda: "Ready" in driver.find_element(
            By.CSS_SELECTOR, f'#environments tr[data-name="{NS}"]').text, 180)
        shot(driver, "environments")

        # A Service applied while the page is open appears without a reload.
        click_link(driver, NS)
        wait_for("service web", lambda: "web" in row_names(driver, "services-table"))
        driver.execute_script("window.cenvNoReload = 'still here';")
        cenv("apply", "-f", "-", stdin=service("web2"))
        wait_for("service web2 without a reload", lambda: "web2" in row_names(driver, "services-table"))
        assert driver.execute_script("return window.cenvNoReload") == "still here", "the page reloaded"
        wait_for("web2 Running or Ready", lambda: any(p in driver.find_element(
            By.CSS_SELECTOR, '#services-table tr[data-name="web2"]').text for p in ("Running", "Ready")), 120)
        shot(driver, "environment")

        # A run's output appears while it runs.
        cenv("apply", "-f", "-", stdin=f"""apiVersion: cenv.io/v1
kind: CommandRun
metadata: {{name: count, namespace: {NS}}}
spec:
  command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8; do echo line-$i; sleep 1; done']
""")
        wait_for("run count in the table", lambda: "count" in row_names(driver, "runs-table"))
        click_link(driver, "count")
        log = lambda: driver.find_element(By.ID, "log").text
        wait_for("the run's first line", lambda: "line-1" in log(), 180)
        early = log()
        assert "line-8" not in early, f"all output arrived at once: {early!r}"
        phase = json.loads(cenv("get", "cr", "count", "-n", NS, "-o", "json")).get("status", {}).get("phase")
        print(f"first line seen while the run is {phase}: {early!r}")
        assert phase in ("Running", "Pending"), f"the run was already {phase}"
        wait_for("the run's last line", lambda: "line-8" in log(), 60)
        wait_for("the run's end", lambda: "Succeeded" in driver.find_element(By.ID, "log-state").text, 60)
        wait_for("the run's events", lambda: len(row_names(driver, "events-table")) > 0)
        shot(driver, "commandrun")

        # The object page of the Environment: conditions, events, spec with the secret redacted.
        driver.get(url + f"#/object/Environment/-/{NS}")
        wait_for("the environment's conditions", lambda: len(
            driver.find_elements(By.CSS_SELECTOR, "#conditions-table tbody tr")) > 0)
        wait_for("the environment's spec", lambda: "<redacted>" in driver.find_element(By.ID, "object-body").text)
        shot(driver, "environment-object")
        driver.get(url + f"#/object/Service/{NS}/web")
        wait_for("the service's page", lambda: "Healthy" in driver.page_source or "Running" in driver.page_source)
        shot(driver, "service-object")
        for page in ("", f"#/env/{NS}", f"#/object/Environment/-/{NS}"):
            driver.get(url + page)
            time.sleep(0.5)
            assert SECRET not in driver.page_source, f"the secret's value is shown on {page or '/ui/'}"
    finally:
        driver.quit()
    print("dashboard browser test passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
